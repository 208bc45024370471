"""Atomic report files: write a temporary file next to the target, then rename it over the target.

Only regular files are replaced. A device, named pipe, socket or folder at the
target path is rejected, and a symbolic link is followed: the report replaces
the file the link points to, and the link itself stays in place.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import tempfile
from pathlib import Path
from typing import Callable

from makaudit.errors import RunError

logger = logging.getLogger(__name__)

_SPECIAL_FILE_KINDS = (
    (stat.S_ISDIR, "folder"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISFIFO, "named pipe (FIFO)"),
    (stat.S_ISSOCK, "socket"),
)


class ReportWriteError(RunError):
    """A report file could not be written; the previous file at that path, if any, is unchanged."""

    def __init__(self, path: Path, message: str) -> None:
        self.path = path
        super().__init__(f"cannot write the report {path}: {message}")


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write`` on a temporary file in the target's folder, then replace the target with it.

    The target is ``path``, or the file a symbolic link at ``path`` points to.
    On any error the temporary file is removed, the target keeps its old
    content (or stays absent), and ``ReportWriteError`` names the path and the
    cause. A target that exists but is not a regular file is never replaced.
    """
    path = Path(path)
    target = _resolve_link(path)
    folder = target.parent
    if not folder.is_dir():
        raise ReportWriteError(path, f"the folder {folder} does not exist; create it or choose another path")
    _require_regular_file(path, target)

    try:
        handle, temporary_name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as error:
        raise ReportWriteError(path, f"cannot create a temporary file in {folder} ({error.strerror})") from error
    os.close(handle)
    temporary = Path(temporary_name)

    try:
        write(temporary)
        _flush_to_disk(temporary)
        os.chmod(temporary, _file_mode(target))
        # Checked again because something else may have created the target while the report was written.
        _require_regular_file(path, target)
        os.replace(temporary, target)
    except BaseException as error:
        temporary.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise ReportWriteError(path, error.strerror or str(error)) from error
        raise

    logger.info("wrote the report %s (%d bytes)", target, target.stat().st_size)


def _resolve_link(path: Path) -> Path:
    """Return the file a symbolic link at ``path`` finally points to, or ``path`` when it is no link."""
    if not path.is_symlink():
        return path

    target = Path(os.path.realpath(path))
    try:
        os.stat(target)
    except FileNotFoundError:
        # A dangling link: the report creates the file it points to.
        pass
    except OSError as error:
        if error.errno == errno.ELOOP:
            message = "the symbolic link is part of a loop; point it at a regular file or choose another path"
            raise ReportWriteError(path, message) from error
        raise ReportWriteError(path, f"cannot follow the symbolic link ({error.strerror})") from error

    logger.debug("the report path %s is a symbolic link; writing to %s", path, target)
    return target


def _require_regular_file(path: Path, target: Path) -> None:
    """Raise ``ReportWriteError`` when ``target`` exists and is not a regular file."""
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        return
    except OSError as error:
        raise ReportWriteError(path, f"cannot inspect {target} ({error.strerror})") from error

    if stat.S_ISREG(mode):
        return
    kind = next((name for is_kind, name in _SPECIAL_FILE_KINDS if is_kind(mode)), "special file")
    where = "that path" if target == path else f"the symbolic link points to {target}, which"
    raise ReportWriteError(path, f"{where} is a {kind}, not a regular file; choose a regular file path")


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
