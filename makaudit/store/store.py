"""The history store: every scan and every host result, kept in a SQLite database."""

from __future__ import annotations

import dataclasses
import logging
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, Iterable, Iterator, Mapping

import platformdirs
from sqlalchemy import Connection, Engine, func, insert, select, update

from makaudit.errors import StoreError
from makaudit.model import HostResult, HostStatus, KeyTrendPoint
from makaudit.store import queries
from makaudit.store.engine import BEGIN_OPTION, create_sqlite_engine, prepare_database_file, translated_errors
from makaudit.store.liveness import ScanOwner, is_stale
from makaudit.store.migrations import migrate
from makaudit.store.records import HostHistoryEntry, ScanKind, ScanRow, ScanStatus
from makaudit.store.redaction import dumps_parameters
from makaudit.store.rows import host_result_row, license_record_rows
from makaudit.store.schema import host_results, license_records, scans

logger = logging.getLogger(__name__)

DEFAULT_BUSY_TIMEOUT = 10.0
"""Seconds a write waits for another process's lock before the store raises StoreError."""

DEFAULT_STALE_AFTER = timedelta(hours=2)
"""Time without a stored result after which a running scan of an unknown process counts as interrupted."""

BATCH_SIZE = 1000
"""Host results per transaction in :meth:`HistoryStore.add_host_results`."""


def default_db_path() -> Path:
    """Return the default history database: ``history.sqlite`` in the user's data folder."""
    return Path(platformdirs.user_data_dir("makaudit", appauthor=False)) / "history.sqlite"


class HistoryStore:
    """The history database. Create it with :meth:`open` and close it, or use it as a context manager.

    Each write runs in its own short transaction, so a result is durable once
    its method returns. Every method raises StoreError when the database is
    locked beyond the busy timeout, read-only, corrupt or of a newer version.
    """

    def __init__(self, path: Path, engine: Engine, busy_timeout: float, stale_after: timedelta) -> None:
        self._path = path
        self._engine = engine
        self._busy_timeout = busy_timeout
        self._stale_after = stale_after

    @classmethod
    def open(
        cls,
        path: Path | str,
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        stale_after: timedelta = DEFAULT_STALE_AFTER,
    ) -> "HistoryStore":
        """Open the database at ``path``, creating it (mode 0600) and migrating it to the current schema.

        Scans left running by processes that ended are marked interrupted.
        """
        path = Path(path).expanduser()
        prepare_database_file(path)
        engine = create_sqlite_engine(path, busy_timeout)
        store = cls(path, engine, busy_timeout, stale_after)

        try:
            with store._write("opening the database") as connection:
                migrate(connection, path)
            store.mark_stale_running_scans()
        except BaseException:
            engine.dispose()
            raise
        return store

    @property
    def path(self) -> Path:
        return self._path

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> "HistoryStore":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _write(self, action: str) -> Iterator[Connection]:
        with translated_errors(self._path, action, self._busy_timeout):
            with self._engine.connect() as connection:
                connection.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
                with connection.begin():
                    yield connection

    @contextmanager
    def _read(self, action: str) -> Iterator[Connection]:
        with translated_errors(self._path, action, self._busy_timeout):
            with self._engine.connect() as connection:
                with connection.begin():
                    yield connection

    # Writes

    def begin_scan(self, kind: ScanKind | str, parameters: Mapping[str, Any]) -> int:
        """Record a new running scan and return its id.

        Parameters are stored as JSON without entries named like secrets; a
        value that looks like a full product key raises StoreError.
        """
        scan_kind = ScanKind(kind)
        parameters_json = dumps_parameters(parameters)
        owner = ScanOwner.current()
        now = _utc_now()

        with self._write("starting a scan") as connection:
            statement = insert(scans).values(
                kind=scan_kind.value,
                status=ScanStatus.RUNNING.value,
                started_at=now,
                parameters=parameters_json,
                hosts=0,
                ok=0,
                owner_pid=owner.pid,
                owner_host=owner.host,
                heartbeat_at=now,
            )
            scan_id = int(connection.execute(statement).inserted_primary_key[0])

        logger.info("started %s %d in history database %s", scan_kind.value, scan_id, self._path)
        return scan_id

    def add_host_result(self, scan_id: int, result: HostResult) -> None:
        """Store one host's result and commit it at once, so that an interrupted scan keeps it."""
        self.add_host_results(scan_id, [result])

    def add_host_results(self, scan_id: int, results: Iterable[HostResult], batch_size: int = BATCH_SIZE) -> int:
        """Store many host results with one transaction per ``batch_size`` results; return how many were stored."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")

        stored = 0
        batch: list[HostResult] = []
        for result in results:
            _check_result(result)
            batch.append(result)
            if len(batch) >= batch_size:
                stored += self._insert_batch(scan_id, batch)
                batch = []
        if batch:
            stored += self._insert_batch(scan_id, batch)
        return stored

    def _insert_batch(self, scan_id: int, batch: list[HostResult]) -> int:
        now = _utc_now()
        ok_count = sum(1 for result in batch if result.status is HostStatus.OK)

        with self._write(f"adding host results to scan {scan_id}") as connection:
            self._require_running(connection, scan_id)

            host_rows = [host_result_row(scan_id, result, now) for result in batch]
            statement = insert(host_results).returning(host_results.c.id, sort_by_parameter_order=True)
            ids = connection.execute(statement, host_rows).scalars().all()

            record_rows = []
            for host_result_id, result in zip(ids, batch):
                if result.state is not None:
                    record_rows.extend(license_record_rows(host_result_id, result.state.records))
            if record_rows:
                connection.execute(insert(license_records), record_rows)

            connection.execute(
                update(scans)
                .where(scans.c.id == scan_id)
                .values(hosts=scans.c.hosts + len(batch), ok=scans.c.ok + ok_count, heartbeat_at=now)
            )
        return len(batch)

    def _require_running(self, connection: Connection, scan_id: int) -> None:
        status = connection.execute(select(scans.c.status).where(scans.c.id == scan_id)).scalar()
        if status is None:
            raise StoreError(f"scan {scan_id} does not exist in history database {self._path}: start it with begin_scan")
        if status != ScanStatus.RUNNING.value:
            raise StoreError(f"scan {scan_id} in history database {self._path} is {status}; results can only be added to a running scan")

    def finish_scan(self, scan_id: int, status: ScanStatus | str = ScanStatus.COMPLETED) -> None:
        """Mark a scan completed or interrupted and record when it finished."""
        final = ScanStatus(status)
        if final is ScanStatus.RUNNING:
            raise ValueError("finish_scan needs the status completed or interrupted, not running")

        with self._write(f"finishing scan {scan_id}") as connection:
            found = connection.execute(
                update(scans).where(scans.c.id == scan_id).values(status=final.value, finished_at=_utc_now())
            ).rowcount
        if not found:
            raise StoreError(f"scan {scan_id} does not exist in history database {self._path}")
        logger.info("scan %d %s in history database %s", scan_id, final.value, self._path)

    def mark_stale_running_scans(self) -> list[int]:
        """Mark running scans whose process has ended as interrupted; return their ids.

        A scan of a process on this host is stale when that process is gone.
        Otherwise a scan is stale when nothing was stored for it for
        ``stale_after`` (two hours unless given to :meth:`open`).
        """
        now = _utc_now()
        with self._write("marking interrupted scans") as connection:
            running = connection.execute(
                select(scans.c.id, scans.c.owner_pid, scans.c.owner_host, scans.c.started_at, scans.c.heartbeat_at).where(
                    scans.c.status == ScanStatus.RUNNING.value
                )
            ).all()
            stale = [
                row.id
                for row in running
                if is_stale(row.owner_pid, row.owner_host, row.heartbeat_at or row.started_at, now, self._stale_after)
            ]
            if stale:
                connection.execute(
                    update(scans)
                    .where(scans.c.id.in_(stale), scans.c.status == ScanStatus.RUNNING.value)
                    .values(status=ScanStatus.INTERRUPTED.value, finished_at=func.coalesce(scans.c.heartbeat_at, scans.c.started_at))
                )

        for scan_id in stale:
            logger.warning("scan %d in history database %s was left running by a process that ended; marked interrupted", scan_id, self._path)
        return stale

    # Reads

    def list_scans(self) -> list[ScanRow]:
        """Return every stored scan, oldest first."""
        with self._read("listing scans") as connection:
            return queries.fetch_scans(connection)

    def latest_results(self, now: datetime | None = None, *, include_documents: bool = False) -> list[HostResult]:
        """Return the current state: the latest successful result per host, and the latest failure of hosts never successful.

        Hosts are identified by machine UUID, else computer name. With ``now``,
        the state as of that moment: results stored later are left out. The
        endpoint documents are read only with ``include_documents``.
        """
        with self._read("reading the latest host results") as connection:
            return queries.latest_results(connection, now, include_documents)

    def key_usage(self, partial_product_key: str | None = None) -> list[KeyTrendPoint]:
        """Return the activated hosts per scan for every MAK partial key, or for one key."""
        key = None if partial_product_key is None else normalize_partial_key(partial_product_key)
        with self._read("reading key usage") as connection:
            return queries.key_usage(connection, key)

    def trend_points(self, partial_keys_to_key_ids: Mapping[str, str]) -> list[KeyTrendPoint]:
        """Return :meth:`key_usage` for every key, with ``key_id`` from the inventory mapping.

        Keys missing from the mapping keep ``key_id`` None.
        """
        key_ids = {normalize_partial_key(key): key_id for key, key_id in partial_keys_to_key_ids.items()}
        return [dataclasses.replace(point, key_id=key_ids.get(point.partial_product_key)) for point in self.key_usage()]

    def host_history(self, name: str) -> list[HostHistoryEntry]:
        """Return one entry per scan for one host, matched by computer name, DNS name or target ignoring case."""
        if not name.strip():
            raise ValueError("host_history needs a host name, got an empty string")
        with self._read(f"reading the history of host {name}") as connection:
            return queries.host_history(connection, name)


def normalize_partial_key(partial_product_key: str) -> str:
    """Return the partial key in upper case; raise ValueError unless it is five letters or digits.

    The message never repeats a longer value, because it may be a full product key.
    """
    key = partial_product_key.strip().upper()
    if len(key) != 5 or not key.isascii() or not key.isalnum():
        raise ValueError(
            f"invalid partial product key ({len(key)} characters): expected the last five "
            "characters of a product key, such as 7QJ2K"
        )
    return key


def _check_result(result: HostResult) -> None:
    if result.status is HostStatus.OK and result.state is None:
        raise ValueError(f"host result for {result.target} has the status ok but no endpoint state")


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)
