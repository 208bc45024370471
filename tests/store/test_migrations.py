"""A database written by schema version 1 is migrated forward and still reads."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import create_engine, inspect, insert, text

from makaudit.model import HostStatus, LicenseStatus
from makaudit.store import HistoryStore, ScanStatus
from makaudit.store.migrations import create_version_1, version_1_metadata
from makaudit.store.schema import SCHEMA_VERSION, metadata


def build_version_1_database(path: Path, now: datetime) -> None:
    """Write a version 1 database with one finished scan, one long-dead running scan and one fresh running scan."""
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{path}")
    tables = version_1_metadata().tables
    with engine.begin() as connection:
        create_version_1(connection)
        connection.execute(insert(tables["schema_version"]).values(version=1, applied_at=now))
        connection.execute(
            insert(tables["scans"]),
            [
                {"id": 1, "kind": "scan", "status": "completed", "started_at": now - timedelta(days=7),
                 "finished_at": now - timedelta(days=7), "parameters": "{}", "hosts": 1, "ok": 1},
                {"id": 2, "kind": "scan", "status": "running", "started_at": now - timedelta(days=1),
                 "finished_at": None, "parameters": "{}", "hosts": 0, "ok": 0},
                {"id": 3, "kind": "import", "status": "running", "started_at": now,
                 "finished_at": None, "parameters": "{}", "hosts": 0, "ok": 0},
            ],
        )
        connection.execute(
            insert(tables["host_results"]).values(
                id=1, scan_id=1, target="pc-0042", host_key="name:PC-0042", computer_name="PC-0042",
                status="ok", collected_at=now - timedelta(days=7), recorded_at=now - timedelta(days=7),
                endpoint_errors="[]", document=json.dumps({"format": "makaudit-endpoint", "version": 1}),
            )
        )
        connection.execute(
            insert(tables["license_records"]).values(
                host_result_id=1, position=0, application="Windows", name="Windows(R), Enterprise edition",
                description="Windows(R) Operating System, VOLUME_MAK channel", channel="MAK",
                partial_product_key="7QJ2K", license_status_code=1, grace_minutes=0, source="wmi",
            )
        )
    engine.dispose()


def test_version_1_migrated_and_readable(db_path: Path) -> None:
    now = datetime.now(timezone.utc)
    build_version_1_database(db_path, now)

    with HistoryStore.open(db_path) as store:
        scans = store.list_scans()
        [result] = store.latest_results(include_documents=True)
        usage = store.key_usage("7QJ2K")

    assert [scan.status for scan in scans] == [ScanStatus.COMPLETED, ScanStatus.INTERRUPTED, ScanStatus.RUNNING]
    assert result.status is HostStatus.OK
    assert result.state.records[0].license_status is LicenseStatus.LICENSED
    assert result.state.document == {"format": "makaudit-endpoint", "version": 1}
    assert [point.activated for point in usage] == [1]  # the interrupted and running scans do not count


def test_migration_records_versions(db_path: Path) -> None:
    build_version_1_database(db_path, datetime.now(timezone.utc))

    with HistoryStore.open(db_path):
        pass

    engine = create_engine(f"sqlite:///{db_path}")
    with engine.connect() as connection:
        versions = connection.execute(text("SELECT version FROM schema_version ORDER BY version")).scalars().all()
    engine.dispose()
    assert versions == list(range(1, SCHEMA_VERSION + 1))


def test_migrated_schema_matches_fresh(tmp_path: Path) -> None:
    migrated_path = tmp_path / "migrated.sqlite"
    fresh_path = tmp_path / "fresh.sqlite"
    build_version_1_database(migrated_path, datetime.now(timezone.utc))
    for path in (migrated_path, fresh_path):
        with HistoryStore.open(path):
            pass

    migrated = describe_schema(migrated_path)
    fresh = describe_schema(fresh_path)

    assert migrated == fresh
    assert set(fresh) == set(metadata.tables)
    for name, table in metadata.tables.items():
        assert fresh[name]["columns"] == sorted(column.name for column in table.columns)
    assert "ix_license_records_key_usage" in fresh["license_records"]["indexes"]
    assert "ix_host_results_computer_name_lower" in fresh["host_results"]["indexes"]


def describe_schema(path: Path) -> dict[str, dict[str, list[str]]]:
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        inspector = inspect(connection)
        schema = {
            name: {"columns": sorted(column["name"] for column in inspector.get_columns(name)), "indexes": []}
            for name in inspector.get_table_names()
        }
        # The inspector skips expression indexes, so read every index from sqlite_master.
        indexes = connection.execute(
            text("SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        ).all()
    engine.dispose()
    for table_name, index_name in indexes:
        schema[table_name]["indexes"].append(index_name)
    return schema
