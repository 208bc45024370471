"""Table definitions of the history database at the current schema version.

The tables are SQLAlchemy Core objects so that the queries run unchanged on a
server database later. Timestamps are stored as naive UTC and read back as
timezone-aware UTC through :class:`UtcDateTime`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

SCHEMA_VERSION = 2
"""Version that :mod:`makaudit.store.migrations` brings every database to."""


class UtcDateTime(TypeDecorator[datetime]):
    """A datetime stored as naive UTC and returned as timezone-aware UTC; naive input is taken as UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", UtcDateTime, nullable=False),
)

scans = Table(
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
    # Version 2: the process that writes the scan, so that a scan left running
    # by a killed process is distinguishable from one still in progress.
    Column("owner_pid", Integer),
    Column("owner_host", String(255)),
    Column("heartbeat_at", UtcDateTime),
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

license_records = Table(
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
    # Version 2: serves key usage (Licensed MAK records per partial key).
    Index("ix_license_records_key_usage", "partial_product_key", "channel", "license_status_code"),
)
