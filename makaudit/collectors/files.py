"""Collect from files: endpoint documents written by GPO or Intune, and captures of tool output.

Each file's format is recognised from its content. A file that cannot be
parsed becomes a failed HostResult, and the other files still import. Only a
path that does not exist stops the import, because it is a usage mistake.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Iterator, Sequence

from makaudit.errors import InputError, ParseError
from makaudit.model import HostResult, HostStatus
from makaudit.parsing import parse_file

logger = logging.getLogger(__name__)

SKIPPED_SUFFIXES = (".expected.json",)
"""Files next to captures that describe them rather than being captures."""

SKIPPED_STEMS = frozenset({"readme"})
"""Documentation files that folders of captures often carry (``README.md``, ``README.txt``)."""

MAX_FILES = 1_000_000
"""Files read from one folder tree; a guard against walking a whole disk by mistake."""


def read_paths(paths: Sequence[Path]) -> list[HostResult]:
    """Parse every file in ``paths`` (folders recursively) into one HostResult per endpoint state.

    Hidden files and folders, ``*.expected.json`` and README files are
    skipped inside folders; a file named directly is always read. Raises
    InputError naming the first path that does not exist.
    """
    for path in paths:
        if not Path(path).exists():
            raise InputError(f"{path}: no such file or folder; check the path")

    results: list[HostResult] = []
    for file_path in _files(paths):
        results.extend(_read_file(file_path))
    return results


def _files(paths: Sequence[Path]) -> Iterator[Path]:
    count = 0
    for path in paths:
        path = Path(path)
        candidates = [path] if path.is_file() else sorted(_walk(path))
        for candidate in candidates:
            count += 1
            if count > MAX_FILES:
                raise InputError(f"{path}: more than {MAX_FILES} files; import a narrower folder")
            yield candidate


def _walk(folder: Path) -> Iterator[Path]:
    for child in folder.rglob("*"):
        relative = child.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if not child.is_file() or child.name.lower().endswith(SKIPPED_SUFFIXES):
            continue
        if child.name.split(".", 1)[0].lower() in SKIPPED_STEMS:
            continue
        yield child


def _read_file(path: Path) -> list[HostResult]:
    started = time.monotonic()
    try:
        states = parse_file(path)
    except (ParseError, InputError) as error:
        logger.warning("%s: not imported: %s", path, error)
        return [HostResult(target=str(path), status=HostStatus.ERROR, error=str(error))]
    except Exception as error:  # noqa: BLE001 - one unreadable file must not stop the import of the others
        logger.exception("%s: not imported: the parser failed unexpectedly", path)
        return [HostResult(target=str(path), status=HostStatus.ERROR, error=f"the parser failed on this file ({type(error).__name__}); please report it")]

    duration = time.monotonic() - started
    return [
        HostResult(
            target=state.computer.name or str(path),
            status=HostStatus.OK,
            state=state,
            duration_seconds=duration,
        )
        for state in states
    ]
