"""Atomic report files: write a temporary file next to the target, then rename it over the target."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Callable

from makaudit.errors import RunError

logger = logging.getLogger(__name__)


class ReportWriteError(RunError):
    """A report file could not be written; the previous file at that path, if any, is unchanged."""

    def __init__(self, path: Path, message: str) -> None:
        self.path = path
        super().__init__(f"cannot write the report {path}: {message}")


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write`` on a temporary file in the target's folder, then replace ``path`` with it.

    On any error the temporary file is removed, ``path`` keeps its old content
    (or stays absent), and ``ReportWriteError`` names the path and the cause.
    """
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise ReportWriteError(path, f"the folder {folder} does not exist; create it or choose another path")
    if path.is_dir():
        raise ReportWriteError(path, "that path is a folder; give a file name")

    try:
        handle, temporary_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise ReportWriteError(path, f"cannot create a temporary file in {folder} ({error.strerror})") from error
    os.close(handle)
    temporary = Path(temporary_name)

    try:
        write(temporary)
        _flush_to_disk(temporary)
        os.chmod(temporary, _file_mode(path))
        os.replace(temporary, path)
    except BaseException as error:
        temporary.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise ReportWriteError(path, error.strerror or str(error)) from error
        raise

    logger.info("wrote the report %s (%d bytes)", path, path.stat().st_size)


def _file_mode(path: Path) -> int:
    """Keep the mode of the file being replaced; a new file gets 0o666 less the umask, as open() would."""
    if path.exists():
        return path.stat().st_mode & 0o777
    # os.umask can only be read by setting it; the process-wide value is restored at once.
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _flush_to_disk(path: Path) -> None:
    with open(path, "rb+") as stream:
        os.fsync(stream.fileno())
