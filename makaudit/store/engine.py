"""The SQLite engine of the history store, the database file, and error translation.

SQLite and SQLAlchemy exceptions are turned into :class:`StoreError` here,
with the path and the fix, so that no caller sees a driver traceback.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry

from makaudit.errors import StoreError

logger = logging.getLogger(__name__)

BEGIN_OPTION = "makaudit_sqlite_begin"
"""Execution option that selects ``BEGIN IMMEDIATE`` for write transactions."""


def prepare_database_file(path: Path) -> None:
    """Create the folder (0700) and an empty database file (0600) before SQLite opens it.

    SQLite would create the file with the process umask, usually readable by
    every user. An existing file is kept as it is. Raises StoreError when the
    file or its folder cannot be written, because the store writes on every open.
    """
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise StoreError(
            f"cannot create the folder of history database {path}: {error.strerror}: "
            "create it, or pass another --db path"
        ) from error

    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        _check_existing_file(path)
    except OSError as error:
        raise StoreError(
            f"cannot create history database {path}: {error.strerror}: "
            "check that its folder is writable by this user, or pass another --db path"
        ) from error
    else:
        os.close(descriptor)
        logger.info("created history database %s", path)


def _check_existing_file(path: Path) -> None:
    if not path.is_file():
        raise StoreError(f"history database {path} is not a regular file: pass the path of a file with --db")

    if not os.access(path, os.R_OK | os.W_OK):
        raise StoreError(_read_only_message(path))

    # WAL mode creates the -wal and -shm files next to the database.
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise StoreError(
            f"the folder of history database {path} is read-only, and SQLite must create its "
            "write-ahead log there: make the folder writable by this user, or pass another --db path"
        )

    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        logger.warning(
            "history database %s is readable by other users (mode %o); restrict it with chmod 600",
            path,
            mode,
        )


def _read_only_message(path: Path) -> str:
    return (
        f"history database {path} is read-only: make the file and its folder writable "
        "by this user, or pass another --db path"
    )


def create_sqlite_engine(path: Path, busy_timeout: float) -> Engine:
    """Create the engine: WAL journal, foreign keys on, ``busy_timeout`` seconds of waiting for locks.

    SQLAlchemy emits BEGIN itself, so that write transactions take the write
    lock up front with ``BEGIN IMMEDIATE``. In WAL mode a deferred transaction
    that later upgrades to a write can fail at once with "database is locked"
    instead of waiting for the busy timeout.
    """
    url = URL.create("sqlite+pysqlite", database=str(path))
    engine = create_engine(url, connect_args={"timeout": busy_timeout, "check_same_thread": False})
    event.listen(engine, "connect", _configure_connection)
    event.listen(engine, "begin", _emit_begin)
    return engine


def _configure_connection(dbapi_connection: Any, connection_record: ConnectionPoolEntry) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
    finally:
        cursor.close()


def _emit_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get(BEGIN_OPTION, "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def translated_errors(path: Path, action: str, busy_timeout: float) -> Iterator[None]:
    """Turn SQLite and SQLAlchemy exceptions raised inside the block into StoreError.

    ``action`` names the step for the message, such as ``"adding a host result"``.
    """
    try:
        yield
    except DBAPIError as error:
        raise StoreError(describe_failure(path, action, busy_timeout, error.orig)) from error
    except sqlite3.Error as error:
        raise StoreError(describe_failure(path, action, busy_timeout, error)) from error
    except SQLAlchemyError as error:
        raise StoreError(f"history database {path} failed while {action}: {error}") from error


def describe_failure(path: Path, action: str, busy_timeout: float, error: BaseException | None) -> str:
    """Return the StoreError message for a driver error: what failed, on which file, and the fix."""
    detail = str(error) if error is not None else "unknown error"
    lowered = detail.lower()

    if "locked" in lowered or "busy" in lowered:
        return (
            f"history database {path} is locked by another process (waited {busy_timeout:g} s) "
            f"while {action}: wait for the other makaudit run to finish, or pass another --db path"
        )
    if "readonly" in lowered or "read-only" in lowered:
        return _read_only_message(path)
    if "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
        return (
            f"history database {path} is corrupt or not a SQLite database ({detail}): "
            "move the file aside so that makaudit creates a new one, restore it from a backup, "
            "or pass another --db path"
        )
    if "unable to open" in lowered:
        return (
            f"cannot open history database {path} ({detail}): check that the file and its folder "
            "exist and are readable and writable by this user"
        )
    if "disk i/o" in lowered or "full" in lowered:
        return f"history database {path} failed with a disk error while {action} ({detail}): check the disk"
    return f"history database {path} failed while {action}: {detail}"
