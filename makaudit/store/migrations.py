"""Forward migrations of the history database schema.

Each step brings a database from one version to the next and records the new
version in ``schema_version``. A new database runs every step from version 1,
so the upgrade path is the same code that creates fresh databases. Steps are
frozen once released: a later change is a new step, never an edit of an old one.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from sqlalchemy import Column, Connection, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text, func, insert, inspect, select

from makaudit.errors import StoreError
from makaudit.store.schema import SCHEMA_VERSION, UtcDateTime, schema_version

logger = logging.getLogger(__name__)


def version_1_metadata() -> MetaData:
    """Build the tables of schema version 1, the initial schema, as they were released."""
    metadata = MetaData()
    Table(
        "schema_version",
        metadata,
        Column("version", Integer, primary_key=True, autoincrement=False),
        Column("applied_at", UtcDateTime, nullable=False),
    )
    Table(
        "scans",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("kind", String(16), nullable=False),
        Column("status", String(16), nullable=False),
        Column("started_at", UtcDateTime, nullable=False),
        Column("finished_at", UtcDateTime),
        Column("parameters", Text, nullable=False),
        Column("hosts", Integer, nullable=False),
        Column("ok", Integer, nullable=False),
    )
    host_results = Table(
        "host_results",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("scan_id", Integer, ForeignKey("scans.id", ondelete="CASCADE"), nullable=False),
        Column("target", String(255), nullable=False),
        Column("host_key", String(300), nullable=False),
        Column("computer_name", String(255)),
        Column("uuid", String(64)),
        Column("dns_host_name", String(255)),
        Column("domain", String(255)),
        Column("os_caption", String(255)),
        Column("os_version", String(64)),
        Column("ui_culture", String(32)),
        Column("status", String(16), nullable=False),
        Column("error", Text),
        Column("collected_at", UtcDateTime),
        Column("recorded_at", UtcDateTime, nullable=False),
        Column("duration_seconds", Float),
        Column("kms_machine", String(255)),
        Column("origin", Text),
        Column("endpoint_errors", Text, nullable=False),
        Column("document", Text),
        Index("ix_host_results_scan_id", "scan_id"),
        Index("ix_host_results_host_key_status", "host_key", "status"),
    )
    Index("ix_host_results_computer_name_lower", func.lower(host_results.c.computer_name))
    Index("ix_host_results_target_lower", func.lower(host_results.c.target))
    Table(
        "license_records",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("host_result_id", Integer, ForeignKey("host_results.id", ondelete="CASCADE"), nullable=False),
        Column("position", Integer, nullable=False),
        Column("application", String(16), nullable=False),
        Column("name", Text, nullable=False),
        Column("description", Text, nullable=False),
        Column("channel", String(16), nullable=False),
        Column("partial_product_key", String(5)),
        Column("license_status_code", Integer),
        Column("license_status_reason", String(32)),
        Column("grace_minutes", Integer),
        Column("evaluation_end", UtcDateTime),
        Column("kms_machine", String(255)),
        Column("source", String(8), nullable=False),
        Column("activation_id", String(64)),
        Column("application_id", String(64)),
        Column("product_key_channel", String(64)),
        Index("ix_license_records_host_result_id", "host_result_id"),
    )
    return metadata


def create_version_1(connection: Connection) -> None:
    """Create the version 1 tables in an empty database."""
    version_1_metadata().create_all(connection)


def upgrade_to_version_2(connection: Connection) -> None:
    """Add the scan owner columns (process id, host, heartbeat) and the key usage index.

    Scans written by version 1 have no owner; they are judged stale by their
    start time alone.
    """
    connection.exec_driver_sql("ALTER TABLE scans ADD COLUMN owner_pid INTEGER")
    connection.exec_driver_sql("ALTER TABLE scans ADD COLUMN owner_host VARCHAR(255)")
    connection.exec_driver_sql("ALTER TABLE scans ADD COLUMN heartbeat_at DATETIME")
    connection.exec_driver_sql(
        "CREATE INDEX ix_license_records_key_usage "
        "ON license_records (partial_product_key, channel, license_status_code)"
    )


STEPS: dict[int, Callable[[Connection], None]] = {
    1: create_version_1,
    2: upgrade_to_version_2,
}
"""The step that creates each version from the one before it."""


def read_version(connection: Connection, path: Path) -> int:
    """Return the schema version of the database, 0 for an empty database.

    Raises StoreError for a database that has tables but no version table,
    because that is some other application's database.
    """
    table_names = set(inspect(connection).get_table_names())
    if schema_version.name not in table_names:
        if table_names:
            raise StoreError(
                f"{path} is a SQLite database but not a makaudit history database "
                f"(it has the tables {', '.join(sorted(table_names))}): pass another --db path"
            )
        return 0

    version = connection.execute(select(func.max(schema_version.c.version))).scalar()
    return 0 if version is None else int(version)


def migrate(connection: Connection, path: Path) -> int:
    """Bring the database to :data:`SCHEMA_VERSION` and return the version it had.

    The caller runs this inside one write transaction, so that two processes
    opening a new database at once migrate it only once. Raises StoreError for
    a database written by a newer makaudit.
    """
    found = read_version(connection, path)
    if found > SCHEMA_VERSION:
        raise StoreError(
            f"history database {path} has schema version {found}, but this makaudit "
            f"supports versions up to {SCHEMA_VERSION}: upgrade makaudit, or pass another --db path"
        )

    for version in range(found + 1, SCHEMA_VERSION + 1):
        STEPS[version](connection)
        connection.execute(insert(schema_version).values(version=version, applied_at=datetime.now(timezone.utc)))
        logger.info("history database %s migrated to schema version %d", path, version)

    return found
