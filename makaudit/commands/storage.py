"""Opening the history store the way every command does."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from makaudit.errors import StoreError
from makaudit.store import HistoryStore, default_db_path

log = logging.getLogger(__name__)


def db_path(args: argparse.Namespace) -> Path:
    return args.db if getattr(args, "db", None) is not None else default_db_path()


def open_store(args: argparse.Namespace, *, create: bool = True) -> HistoryStore:
    """Open (and create or migrate) the history database; StoreError when it is unusable.

    Commands that only read the history pass ``create=False``, so that a mistyped ``--db`` path is
    reported instead of silently creating an empty database.
    """
    path = db_path(args)
    if not create and (not path.exists() or (path.is_file() and path.stat().st_size == 0)):
        raise StoreError(
            f"no history database at {path}; run makaudit scan or makaudit import first, "
            "or give the database's path with --db (or MAKAUDIT_DB)"
        )
    log.info("history database: %s", path)
    return HistoryStore.open(path)


def scan_parameters(args: argparse.Namespace) -> dict[str, object]:
    """Return the options of this run worth keeping with the scan: plain values only, never the password."""
    kept: dict[str, object] = {}
    for name, value in sorted(vars(args).items()):
        if name in ("handler", "password") or name.startswith("_") or value is None:
            continue
        if isinstance(value, Path):
            value = str(value)
        elif isinstance(value, list):
            value = [str(item) for item in value]
        elif not isinstance(value, (str, int, float, bool)):
            value = str(value)
        kept[name] = value
    return kept
