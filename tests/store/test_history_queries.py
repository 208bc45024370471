"""Two scans with changes between them, read back through every query of the history store."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import pytest

from makaudit.errors import UsageError
from makaudit.model import Application, HostStatus, LicenseStatus
from makaudit.store import HistoryStore, ScanKind, ScanStatus, history_document

from .builders import failed_result, later, office_kms_client, ok_result, windows_mak

KEY_A = "7QJ2K"
KEY_B = "9RT4M"


@pytest.fixture
def two_scans(store: HistoryStore) -> dict:
    """Scan 1: A, B, C on key A, D in grace, E unreachable.

    Scan 2: A renamed to PC-A2, B swapped to key B, C gone, D activated,
    F new on key B, E timed out again.
    """
    first = store.begin_scan(ScanKind.SCAN, {"targets": ["pc-a", "pc-b"], "workers": 8})
    store.add_host_result(first, ok_result("PC-A", (windows_mak(KEY_A),), later(1), uuid="uuid-a"))
    store.add_host_result(first, ok_result("PC-B", (windows_mak(KEY_A),), later(2), uuid="uuid-b"))
    store.add_host_result(first, ok_result("PC-C", (windows_mak(KEY_A), office_kms_client()), later(3), uuid="uuid-c"))
    store.add_host_result(first, ok_result("PC-D", (windows_mak(KEY_A, LicenseStatus.OOB_GRACE),), later(4)))
    store.add_host_result(first, failed_result("pc-e"))
    store.finish_scan(first)

    between = datetime.now(timezone.utc)
    time.sleep(0.01)

    second = store.begin_scan("scan", {"targets": ["pc-a", "pc-b"]})
    store.add_host_result(second, ok_result("PC-A2", (windows_mak(KEY_A),), later(61), uuid="uuid-a", target="pc-a"))
    store.add_host_result(second, ok_result("PC-B", (windows_mak(KEY_B),), later(62), uuid="uuid-b"))
    store.add_host_result(second, ok_result("PC-D", (windows_mak(KEY_A),), later(64)))
    store.add_host_result(second, ok_result("PC-F", (windows_mak(KEY_B),), later(65), uuid="uuid-f"))
    store.add_host_result(second, failed_result("pc-e", HostStatus.TIMEOUT, "read output timed out after 60 s"))
    store.finish_scan(second)

    return {"first": first, "second": second, "between": between}


def test_list_scans_counts_and_status(store: HistoryStore, two_scans: dict) -> None:
    scans = store.list_scans()

    assert [scan.id for scan in scans] == [two_scans["first"], two_scans["second"]]
    assert [scan.status for scan in scans] == [ScanStatus.COMPLETED, ScanStatus.COMPLETED]
    assert [(scan.hosts, scan.ok) for scan in scans] == [(5, 4), (5, 4)]
    assert scans[0].kind is ScanKind.SCAN
    assert scans[0].parameters == {"targets": ["pc-a", "pc-b"], "workers": 8}
    assert scans[0].finished_at is not None
    assert scans[0].finished_at >= scans[0].started_at
    assert scans[1].started_at > scans[0].started_at


def test_key_usage_added_and_removed(store: HistoryStore, two_scans: dict) -> None:
    points = store.key_usage(KEY_A)

    assert [point.scan_id for point in points] == [two_scans["first"], two_scans["second"]]
    first, second = points
    assert first.activated == 3
    assert first.hosts_added == ("PC-A", "PC-B", "PC-C")
    assert first.hosts_removed == ()
    # PC-C was not collected by the second scan, so it keeps its last known key.
    assert second.activated == 3
    assert second.hosts_added == ("PC-D",)
    assert second.hosts_removed == ("PC-B",)


def test_key_usage_every_key_every_scan(store: HistoryStore, two_scans: dict) -> None:
    points = store.key_usage()

    by_key = {(point.partial_product_key, point.scan_id): point for point in points}
    assert len(points) == 4
    assert by_key[(KEY_B, two_scans["first"])].activated == 0
    assert by_key[(KEY_B, two_scans["second"])].activated == 2
    assert by_key[(KEY_B, two_scans["second"])].hosts_added == ("PC-B", "PC-F")
    assert all(point.key_id is None for point in points)


def test_key_usage_ignores_kms_and_grace(store: HistoryStore, two_scans: dict) -> None:
    keys = {point.partial_product_key for point in store.key_usage()}

    assert keys == {KEY_A, KEY_B}


def test_key_usage_lower_case_filter(store: HistoryStore, two_scans: dict) -> None:
    assert [point.activated for point in store.key_usage(KEY_A.lower())] == [3, 3]


def test_key_usage_unknown_key_zero_points(store: HistoryStore, two_scans: dict) -> None:
    points = store.key_usage("ZZZZZ")

    assert [point.activated for point in points] == [0, 0]
    assert all(point.partial_product_key == "ZZZZZ" for point in points)


def test_key_usage_invalid_key_rejected(store: HistoryStore) -> None:
    with pytest.raises(ValueError, match="invalid partial product key"):
        store.key_usage("7QJ2")


def test_trend_points_fill_key_ids(store: HistoryStore, two_scans: dict) -> None:
    points = store.trend_points({KEY_A.lower(): "WIN-ENT-MAK-A"})

    ids = {point.partial_product_key: point.key_id for point in points}
    assert ids == {KEY_A: "WIN-ENT-MAK-A", KEY_B: None}
    assert points[0].to_dict()["started_at"].endswith("Z")


def test_latest_results_current_state(store: HistoryStore, two_scans: dict) -> None:
    results = {result.computer_name or result.target: result for result in store.latest_results()}

    assert sorted(results) == ["PC-A2", "PC-B", "PC-C", "PC-D", "PC-F", "pc-e"]
    assert results["PC-B"].state.records[0].partial_product_key == KEY_B
    assert results["PC-D"].state.records[0].license_status is LicenseStatus.LICENSED
    assert results["pc-e"].status is HostStatus.TIMEOUT
    assert results["pc-e"].error == "read output timed out after 60 s"
    assert results["pc-e"].state is None


def test_latest_results_gone_host_keeps_state(store: HistoryStore, two_scans: dict) -> None:
    gone = next(result for result in store.latest_results() if result.computer_name == "PC-C")

    assert gone.state.collected_at == later(3)
    assert [record.application for record in gone.state.records] == [Application.WINDOWS, Application.OFFICE]
    office = gone.state.records[1]
    assert office.to_dict() == office_kms_client().to_dict()
    assert gone.state.records[0] == windows_mak(KEY_A)
    assert gone.state.computer.uuid == "uuid-c"
    assert gone.state.errors[0].code == "0x80041010"
    assert gone.duration_seconds == 1.25


def test_latest_results_as_of_earlier(store: HistoryStore, two_scans: dict) -> None:
    results = {result.computer_name or result.target: result for result in store.latest_results(two_scans["between"])}

    assert sorted(results) == ["PC-A", "PC-B", "PC-C", "PC-D", "pc-e"]
    assert results["PC-B"].state.records[0].partial_product_key == KEY_A
    assert results["pc-e"].status is HostStatus.UNREACHABLE


def test_latest_results_success_beats_later_failure(store: HistoryStore) -> None:
    first = store.begin_scan("scan", {})
    store.add_host_result(first, ok_result("PC-G", (windows_mak(KEY_A),), later(1), uuid="uuid-g"))
    store.finish_scan(first)
    second = store.begin_scan("scan", {})
    store.add_host_result(second, failed_result("PC-G.corp.example.test".lower()))
    store.add_host_result(second, failed_result("pc-g"))
    store.finish_scan(second)

    results = store.latest_results()

    assert [result.target for result in results] == ["pc-g"]
    assert results[0].status is HostStatus.OK
    assert results[0].state.collected_at == later(1)


def test_latest_results_newest_collected_wins(store: HistoryStore) -> None:
    scan = store.begin_scan("scan", {})
    store.add_host_result(scan, ok_result("PC-H", (windows_mak(KEY_B),), later(100), uuid="uuid-h"))
    store.finish_scan(scan)
    imported = store.begin_scan(ScanKind.IMPORT, {"paths": ["old-export"]})
    store.add_host_result(imported, ok_result("PC-H", (windows_mak(KEY_A),), later(1), uuid="uuid-h"))
    store.finish_scan(imported)

    [result] = store.latest_results()

    assert result.state.records[0].partial_product_key == KEY_B


def test_host_history_key_swap(store: HistoryStore, two_scans: dict) -> None:
    entries = store.host_history("pc-b")

    assert [entry.scan.id for entry in entries] == [two_scans["first"], two_scans["second"]]
    assert [entry.result.state.records[0].partial_product_key for entry in entries] == [KEY_A, KEY_B]


def test_host_history_follows_rename(store: HistoryStore, two_scans: dict) -> None:
    entries = store.host_history("PC-A")

    assert [entry.result.computer_name for entry in entries] == ["PC-A", "PC-A2"]


def test_host_history_gone_and_failed(store: HistoryStore, two_scans: dict) -> None:
    assert [entry.scan.id for entry in store.host_history("pc-c")] == [two_scans["first"]]
    failures = store.host_history("PC-E")
    assert [entry.result.status for entry in failures] == [HostStatus.UNREACHABLE, HostStatus.TIMEOUT]
    assert store.host_history("pc-unknown") == []


def test_host_history_empty_name_rejected(store: HistoryStore) -> None:
    with pytest.raises(ValueError, match="host name"):
        store.host_history("  ")


def test_history_document_without_filters(store: HistoryStore, two_scans: dict) -> None:
    document = history_document(store, key_ids={KEY_A: "WIN-ENT-MAK-A"})

    assert set(document) == {"scans", "key_usage"}
    assert document["scans"][0] == {
        "id": two_scans["first"],
        "kind": "scan",
        "started_at": document["scans"][0]["started_at"],
        "finished_at": document["scans"][0]["finished_at"],
        "status": "completed",
        "hosts": 5,
        "ok": 4,
    }
    usage = [(entry["scan_id"], entry["key_id"], entry["partial_product_key"], entry["activated"]) for entry in document["key_usage"]]
    assert usage == [
        (two_scans["first"], "WIN-ENT-MAK-A", KEY_A, 3),
        (two_scans["second"], "WIN-ENT-MAK-A", KEY_A, 3),
        (two_scans["first"], None, KEY_B, 0),
        (two_scans["second"], None, KEY_B, 2),
    ]
    json.dumps(document)


def test_history_document_key_filter(store: HistoryStore, two_scans: dict) -> None:
    document = history_document(store, key_partial=KEY_B.lower())

    assert {entry["partial_product_key"] for entry in document["key_usage"]} == {KEY_B}
    assert "host_records" not in document


def test_history_document_host_filter(store: HistoryStore, two_scans: dict) -> None:
    document = history_document(store, host="PC-B")

    assert "key_usage" not in document
    records = document["host_records"]
    assert [record["scan_id"] for record in records] == [two_scans["first"], two_scans["second"]]
    assert [record["licenses"][0]["partial_product_key"] for record in records] == [KEY_A, KEY_B]
    assert records[0]["status"] == "ok"
    assert records[0]["scan_status"] == "completed"
    json.dumps(document)


def test_history_document_full_key_rejected(store: HistoryStore) -> None:
    full_key = "NPPR9-FWDCX-D2C8J-H872K-2YT43"

    with pytest.raises(UsageError) as raised:
        history_document(store, key_partial=full_key)

    assert "NPPR9" not in str(raised.value)
    assert "expected the last five characters" in str(raised.value)


def test_history_document_empty_host_rejected(store: HistoryStore) -> None:
    with pytest.raises(UsageError, match="--host"):
        history_document(store, host=" ")


def test_history_document_empty_database(store: HistoryStore) -> None:
    assert history_document(store) == {"scans": [], "key_usage": []}


def test_key_usage_skips_host_queries_and_interrupted_scans(store: HistoryStore, two_scans: dict) -> None:
    lookup = store.begin_scan(ScanKind.HOST, {"name": "pc-a"})
    store.add_host_result(lookup, ok_result("PC-A2", (windows_mak(KEY_A),), later(90), uuid="uuid-a", target="pc-a"))
    store.finish_scan(lookup)
    partial = store.begin_scan(ScanKind.SCAN, {"targets": ["pc-b"]})
    store.add_host_result(partial, ok_result("PC-B", (windows_mak(KEY_B),), later(95), uuid="uuid-b"))
    store.finish_scan(partial, "interrupted")

    usage = store.key_usage(KEY_A)

    assert [point.scan_id for point in usage] == [two_scans["first"], two_scans["second"]]
    assert [point.activated for point in usage] == [3, 3]


def test_partial_scan_keeps_other_hosts(store: HistoryStore, two_scans: dict) -> None:
    one_host = store.begin_scan(ScanKind.SCAN, {"targets": ["pc-d"]})
    store.add_host_result(one_host, ok_result("PC-D", (windows_mak(KEY_B),), later(120)))
    store.finish_scan(one_host)

    usage_a = store.key_usage(KEY_A)
    usage_b = store.key_usage(KEY_B)

    assert [point.activated for point in usage_a] == [3, 3, 2]
    assert usage_a[2].hosts_removed == ("PC-D",)
    assert usage_a[2].hosts_added == ()
    assert [point.activated for point in usage_b] == [0, 2, 3]
    assert usage_b[2].hosts_added == ("PC-D",)
