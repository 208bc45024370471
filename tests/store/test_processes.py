"""Real processes against one database: a scan killed mid-way, and two writers at once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from makaudit.store import HistoryStore, ScanStatus

WRITER = Path(__file__).with_name("scan_writer.py")
PROCESS_TIMEOUT = 60


def start_writer(db_path: Path, label: str, count: int, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WRITER), str(db_path), label, str(count), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL exists on POSIX only")
def test_killed_scan_keeps_results(db_path: Path) -> None:
    writer = start_writer(db_path, "KILLED", 7, "hang")
    try:
        line = writer.stdout.readline()
        assert line.startswith("ready "), writer.stderr.read()
        scan_id = int(line.split()[1])
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=PROCESS_TIMEOUT)
        writer.stdout.close()
        writer.stderr.close()

    with HistoryStore.open(db_path) as store:
        [scan] = store.list_scans()
        results = store.latest_results()

    assert scan.id == scan_id
    assert scan.status is ScanStatus.INTERRUPTED
    assert scan.finished_at is not None
    assert scan.hosts == 7
    assert sorted(result.computer_name for result in results) == [f"KILLED-{index:04d}" for index in range(7)]


def test_two_writers_both_complete(db_path: Path) -> None:
    writers = [start_writer(db_path, label, 40, "finish") for label in ("LEFT", "RIGHT")]
    outputs = []
    for writer in writers:
        try:
            outputs.append(writer.communicate(timeout=PROCESS_TIMEOUT))
        except subprocess.TimeoutExpired:
            writer.kill()
            writer.communicate()
            raise

    for writer, (stdout, stderr) in zip(writers, outputs):
        assert writer.returncode == 0, stderr
        assert stdout.startswith("done ")

    with HistoryStore.open(db_path) as store:
        scans = store.list_scans()
        names = {result.computer_name for result in store.latest_results()}

    assert [scan.status for scan in scans] == [ScanStatus.COMPLETED, ScanStatus.COMPLETED]
    assert sorted(scan.parameters["label"] for scan in scans) == ["LEFT", "RIGHT"]
    assert [scan.hosts for scan in scans] == [40, 40]
    assert len(names) == 80


def test_own_running_scan_stays_running(db_path: Path) -> None:
    with HistoryStore.open(db_path) as store:
        scan_id = store.begin_scan("scan", {})
        with HistoryStore.open(db_path, stale_after=timedelta(0)) as second:
            marked = second.mark_stale_running_scans()
            [scan] = second.list_scans()

    assert marked == []
    assert scan.id == scan_id
    assert scan.status is ScanStatus.RUNNING


def test_other_host_scan_stale_by_heartbeat(db_path: Path) -> None:
    with HistoryStore.open(db_path) as store:
        old_scan = store.begin_scan("scan", {})
        fresh_scan = store.begin_scan("scan", {})
    with sqlite3.connect(db_path) as connection:
        connection.execute("UPDATE scans SET owner_host = 'audit-server-02', owner_pid = 4242")
        connection.execute("UPDATE scans SET heartbeat_at = '2020-01-01 00:00:00.000000' WHERE id = ?", (old_scan,))

    with HistoryStore.open(db_path, stale_after=timedelta(hours=1)) as store:
        statuses = {scan.id: scan.status for scan in store.list_scans()}

    assert statuses == {old_scan: ScanStatus.INTERRUPTED, fresh_scan: ScanStatus.RUNNING}
