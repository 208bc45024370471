"""Unusable databases, bad input and secrets: every one ends in a clear StoreError or is kept out."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from makaudit.errors import StoreError
from makaudit.model import HostStatus
from makaudit.store import HistoryStore, ScanStatus
from makaudit.store.schema import SCHEMA_VERSION

from .builders import failed_result, later, ok_result, windows_mak

FULL_KEY = "NPPR9-FWDCX-D2C8J-H872K-2YT43"


def test_new_file_owner_only(db_path: Path) -> None:
    with HistoryStore.open(db_path):
        pass

    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(db_path.parent.stat().st_mode) == 0o700


def test_newer_schema_version_rejected(db_path: Path) -> None:
    with HistoryStore.open(db_path):
        pass
    with sqlite3.connect(db_path) as connection:
        connection.execute("INSERT INTO schema_version VALUES (?, '2030-01-01 00:00:00')", (SCHEMA_VERSION + 1,))

    with pytest.raises(StoreError) as raised:
        HistoryStore.open(db_path)

    message = str(raised.value)
    assert str(db_path) in message
    assert f"schema version {SCHEMA_VERSION + 1}" in message
    assert "upgrade makaudit" in message


def test_garbage_file_is_corrupt(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"this is a spreadsheet, not a database\n" * 200)

    with pytest.raises(StoreError) as raised:
        HistoryStore.open(db_path)

    assert str(db_path) in str(raised.value)
    assert "corrupt or not a SQLite database" in str(raised.value)


def test_damaged_schema_page_is_corrupt(db_path: Path) -> None:
    with HistoryStore.open(db_path) as store:
        store.begin_scan("scan", {})
    data = bytearray(db_path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)
    db_path.write_bytes(bytes(data))

    with pytest.raises(StoreError, match="corrupt or not a SQLite database"):
        HistoryStore.open(db_path)


def test_other_application_database_rejected(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    with sqlite3.connect(db_path) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")

    with pytest.raises(StoreError, match="not a makaudit history database"):
        HistoryStore.open(db_path)


def test_directory_path_rejected(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not a regular file"):
        HistoryStore.open(tmp_path)


def test_locked_database_times_out(db_path: Path) -> None:
    with HistoryStore.open(db_path):
        pass
    holder = sqlite3.connect(db_path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StoreError) as raised:
            HistoryStore.open(db_path, busy_timeout=0.2)
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert "is locked by another process (waited 0.2 s)" in str(raised.value)
    assert str(db_path) in str(raised.value)


def test_locked_during_write(store: HistoryStore, db_path: Path) -> None:
    scan_id = store.begin_scan("scan", {})
    locked_store = HistoryStore.open(db_path, busy_timeout=0.2)
    holder = sqlite3.connect(db_path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreError, match="while adding host results to scan"):
            locked_store.add_host_result(scan_id, failed_result("pc-1"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        locked_store.close()

    assert store.list_scans()[0].hosts == 0


READ_ONLY_CHILD = textwrap.dedent(
    """
    import os, sqlite3, sys
    import sqlalchemy.dialects.sqlite.pysqlite
    from makaudit.errors import StoreError
    from makaudit.store import HistoryStore
    # Import everything first: the interpreter's own files may be readable by root only.
    os.setgid(65534)
    os.setuid(65534)
    try:
        HistoryStore.open(sys.argv[1])
    except StoreError as error:
        print("StoreError:", error)
    else:
        print("opened")
    """
)


def test_read_only_file_rejected(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        db_path = tmp_path / "history.sqlite"
        with HistoryStore.open(db_path):
            pass
        db_path.chmod(0o400)
        with pytest.raises(StoreError) as raised:
            HistoryStore.open(db_path)
        message = str(raised.value)
    else:
        # Root ignores file modes, so a child process opens the file as the unprivileged user 65534.
        folder = Path(tempfile.mkdtemp(prefix="makaudit-read-only-"))
        try:
            folder.chmod(0o755)
            db_path = folder / "history.sqlite"
            with HistoryStore.open(db_path):
                pass
            db_path.chmod(0o644)
            completed = subprocess.run(
                [sys.executable, "-c", READ_ONLY_CHILD, str(db_path)],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        finally:
            for child in folder.iterdir():
                child.unlink()
            folder.rmdir()
        assert completed.returncode == 0, completed.stderr
        message = completed.stdout

    assert "read-only" in message
    assert str(db_path) in message
    assert "writable" in message


def test_secrets_never_stored(db_path: Path) -> None:
    parameters = {
        "targets": ["pc-1"],
        "username": "CORP\\auditor",
        "password": "Hunter2-Secret-Value",
        "transport": {"auth": "ntlm", "api_token": "tok-4711-secret", "ClientCredential": "cred-0815"},
    }
    document = {"service": {"OA3xOriginalProductKey": FULL_KEY}, "products": []}

    with HistoryStore.open(db_path) as store:
        scan_id = store.begin_scan("scan", parameters)
        store.add_host_result(scan_id, ok_result("PC-1", (windows_mak("2YT43"),), later(1), document=document))
        store.add_host_result(scan_id, failed_result("pc-2", HostStatus.ERROR, f"slmgr printed {FULL_KEY}"))
        store.finish_scan(scan_id)
        stored_parameters = store.list_scans()[0].parameters
        [first, second] = store.latest_results(include_documents=True)

    raw = b"".join(path.read_bytes() for path in db_path.parent.iterdir())
    for secret in (b"Hunter2-Secret-Value", b"tok-4711-secret", b"cred-0815", FULL_KEY.encode()):
        assert secret not in raw
    assert stored_parameters == {"targets": ["pc-1"], "username": "CORP\\auditor", "transport": {"auth": "ntlm"}}
    assert first.state.document["service"]["OA3xOriginalProductKey"] == "XXXXX-XXXXX-XXXXX-XXXXX-2YT43"
    assert second.error == "slmgr printed XXXXX-XXXXX-XXXXX-XXXXX-2YT43"


def test_full_key_parameter_rejected(store: HistoryStore) -> None:
    with pytest.raises(StoreError) as raised:
        store.begin_scan("scan", {"notes": [f"installed {FULL_KEY.lower()}"]})

    assert "parameters.notes[0]" in str(raised.value)
    assert "NPPR9" not in str(raised.value).upper()
    assert store.list_scans() == []


@pytest.mark.parametrize(
    "written",
    [
        FULL_KEY.replace("-", ""),
        FULL_KEY.replace("-", " "),
        FULL_KEY.replace("-", "\u2013"),
        "ABCDE-FGHJK-MNPQR-TVWXY-2346B",
    ],
)
def test_key_forms_in_parameters_rejected(store: HistoryStore, written: str) -> None:
    with pytest.raises(StoreError) as raised:
        store.begin_scan("scan", {"targets": ["pc-1"], "comment": f"key {written}"})

    assert "parameters.comment" in str(raised.value)
    assert written[:10] not in str(raised.value)
    assert store.list_scans() == []


@pytest.mark.parametrize(
    "written",
    [FULL_KEY.replace("-", ""), FULL_KEY.replace("-", " ").lower(), FULL_KEY.replace("-", "\u2014")],
)
def test_key_forms_in_error_masked(db_path: Path, written: str) -> None:
    with HistoryStore.open(db_path) as store:
        scan_id = store.begin_scan("scan", {})
        store.add_host_result(scan_id, failed_result("pc-2", HostStatus.ERROR, f"slmgr /ipk {written}\nfailed"))
        store.finish_scan(scan_id)
        [result] = store.latest_results()

    assert result.error == "slmgr /ipk XXXXX-XXXXX-XXXXX-XXXXX-2YT43\nfailed"
    raw = b"".join(path.read_bytes() for path in db_path.parent.iterdir())
    assert written.encode() not in raw
    assert b"NPPR9" not in raw.upper()


def test_guid_parameters_kept(store: HistoryStore) -> None:
    parameters = {"targets": ["pc-1"], "activation_id": "55c92734-d682-4d71-983e-d6ec3f16059f"}

    scan_id = store.begin_scan("scan", parameters)

    assert store.list_scans()[0].parameters == parameters
    assert scan_id is not None


def test_unstorable_parameter_rejected(store: HistoryStore) -> None:
    with pytest.raises(StoreError, match="parameters.callback has the type function"):
        store.begin_scan("scan", {"callback": lambda: None})


def test_unknown_scan_kind_rejected(store: HistoryStore) -> None:
    with pytest.raises(ValueError, match="rescan"):
        store.begin_scan("rescan", {})


def test_result_for_unknown_scan_rejected(store: HistoryStore) -> None:
    with pytest.raises(StoreError, match="scan 42 does not exist"):
        store.add_host_result(42, failed_result("pc-1"))


def test_result_for_finished_scan_rejected(store: HistoryStore) -> None:
    scan_id = store.begin_scan("scan", {})
    store.finish_scan(scan_id)

    with pytest.raises(StoreError, match="is completed; results can only be added to a running scan"):
        store.add_host_result(scan_id, failed_result("pc-1"))


def test_ok_result_without_state_rejected(store: HistoryStore) -> None:
    scan_id = store.begin_scan("scan", {})

    with pytest.raises(ValueError, match="status ok but no endpoint state"):
        store.add_host_result(scan_id, failed_result("pc-1", HostStatus.OK))


def test_finish_scan_guards(store: HistoryStore) -> None:
    scan_id = store.begin_scan("scan", {})

    with pytest.raises(ValueError, match="not running"):
        store.finish_scan(scan_id, ScanStatus.RUNNING)
    with pytest.raises(StoreError, match="scan 99 does not exist"):
        store.finish_scan(99)
    store.finish_scan(scan_id, "interrupted")
    assert store.list_scans()[0].status is ScanStatus.INTERRUPTED


def test_batch_size_guard(store: HistoryStore) -> None:
    scan_id = store.begin_scan("import", {})

    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        store.add_host_results(scan_id, [], batch_size=0)


def test_batch_import_counts(store: HistoryStore) -> None:
    scan_id = store.begin_scan("import", {"paths": ["exports"]})
    results = [ok_result(f"PC-{index:03d}", (windows_mak("7QJ2K"),), later(index)) for index in range(25)]
    results.append(failed_result("pc-broken", HostStatus.ERROR, "expected a JSON object"))

    stored = store.add_host_results(scan_id, results, batch_size=10)
    store.finish_scan(scan_id)

    assert stored == 26
    scan = store.list_scans()[0]
    assert (scan.hosts, scan.ok) == (26, 25)
    assert store.key_usage("7QJ2K")[0].activated == 25
    assert len(store.latest_results()) == 26
