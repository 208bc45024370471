"""The format-neutral report model built from an analysis result."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pytest

from makaudit.model import HostResult, KeyTrendPoint, KeyUsage
from makaudit.reports.model import ColumnType, build_report, to_naive_utc
from makaudit.reports.redact import mask_product_keys, partial_key
from makaudit.reports.usage import KeyIndex, UsageState
from report_samples import SCAN, make_result


def test_counts_from_hosts(result):
    counts = {fact.label: fact.value for fact in build_report(result).counts}
    assert counts["Hosts"] == 13
    assert counts["Collected"] == 10
    assert counts["Not collected"] == 3
    assert counts["Activated (every keyed product Licensed)"] == 7
    assert counts["Collected but not fully activated"] == 3


def test_severity_counts_worst_first(result):
    counts = build_report(result).severity_counts
    assert [(severity.value, count) for severity, count in counts] == [
        ("critical", 1),
        ("high", 2),
        ("medium", 1),
        ("low", 1),
        ("info", 1),
    ]


def test_key_bar_states(result):
    states = {bar.label: bar.state for bar in build_report(result).key_bars}
    assert states == {
        "WIN-ENT-A": UsageState.OVER,
        "OFF-PP-A": UsageState.NEAR,
        "WIN-PRO-B": UsageState.OK,
        "not in inventory (ZZZZZ)": UsageState.UNKNOWN,
    }


def test_scan_facts_in_utc(result):
    facts = {fact.label: fact for fact in build_report(result, scan=SCAN).scan_facts}
    assert facts["Scan started (UTC)"].value == datetime(2026, 12, 4, 19, 30)
    assert facts["Scan started (UTC)"].type is ColumnType.DATE
    assert facts["Targets"].value == 13


def test_scan_facts_without_scan(result):
    facts = build_report(result).scan_facts
    assert [fact.label for fact in facts] == ["Report generated (UTC)"]


def test_dates_naive_utc():
    moment = datetime(2026, 12, 4, 20, 40, tzinfo=timezone(timedelta(hours=1)))
    assert to_naive_utc(moment) == datetime(2026, 12, 4, 19, 40)


def test_table_column_types(result):
    report = build_report(result)
    assert report.keys.columns[report.keys.index("utilization")].type is ColumnType.PERCENT
    assert report.hosts.columns[report.hosts.index("collected_at")].type is ColumnType.DATE


def test_table_unknown_column(result):
    with pytest.raises(KeyError, match="has no column 'missing'"):
        build_report(result).keys.index("missing")


def test_grace_days_keep_fraction(result):
    report = build_report(result)
    grace = dict(zip(report.hosts.column_values("computer"), report.hosts.column_values("grace_days")))
    assert grace["PC-0005"] == pytest.approx(259000 / 1440)
    assert grace["PC-0007"] == 30
    assert grace["PC-0001"] is None
    assert report.hosts.columns[report.hosts.index("grace_days")].type is ColumnType.DECIMAL


def test_history_columns_per_key(result):
    history = build_report(result).history
    assert history is not None
    assert [column.heading for column in history.columns][2:] == ["OFF-PP-A", "WIN-ENT-A", "not in inventory (ZZZZZ)"]
    assert history.column_values("scan_id") == [1, 2, 3]


def test_history_sorted_by_start():
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    points = (
        KeyTrendPoint(9, start + timedelta(days=7), "WIN-ENT-A", "7QJ2K", 5),
        KeyTrendPoint(4, start, "WIN-ENT-A", "7QJ2K", 3),
    )
    history = build_report(make_result(trends=points)).history
    assert history.column_values("scan_id") == [4, 9]


def test_findings_list_capped():
    from report_samples import sample_findings

    finding = sample_findings()[1]
    many = type(finding)(**{**finding.__dict__, "hosts": tuple(f"PC-{index}" for index in range(25))})
    table = build_report(make_result(findings=(many,))).findings
    assert table.column_values("affected_hosts") == [25]
    assert table.column_values("hosts")[0].endswith("PC-19 and 5 more")


def test_partial_key_cuts_full_key(caplog):
    with caplog.at_level(logging.WARNING):
        assert partial_key("NPPR9-FWDCX-D2C8J-H872K-2YT43") == "2YT43"
    assert "NPPR9" not in caplog.text


def test_partial_key_upper_case():
    assert partial_key(" 7qj2k ") == "7QJ2K"
    assert partial_key(None) is None


def test_mask_full_key_in_text():
    assert mask_product_keys("key NPPR9-FWDCX-D2C8J-H872K-2YT43 blocked") == "key XXXXX-XXXXX-XXXXX-XXXXX-2YT43 blocked"
    assert mask_product_keys("no key here") == "no key here"


@pytest.mark.parametrize(
    "written",
    [
        "NPPR9FWDCXD2C8JH872K2YT43",
        "nppr9 fwdcx d2c8j h872k 2yt43",
        "NPPR9\u2013FWDCX\u2013D2C8J\u2013H872K\u20132YT43",
        "NPPR9\u2014FWDCX\u2014D2C8J\u2014H872K\u20142YT43",
    ],
)
def test_mask_key_forms_in_text(written, caplog):
    with caplog.at_level(logging.WARNING):
        masked = mask_product_keys(f"slmgr /ipk {written} failed")

    assert masked == "slmgr /ipk XXXXX-XXXXX-XXXXX-XXXXX-2YT43 failed"
    assert "masked 1 full product key(s)" in caplog.text
    assert "NPPR9" not in caplog.text.upper()


def test_mask_leaves_ids_alone():
    text = "activation ID 55c92734-d682-4d71-983e-d6ec3f16059f, product ID 00330-80000-00000-AA946"

    assert mask_product_keys(text) == text


@pytest.mark.parametrize("written", ["NPPR9 FWDCX D2C8J H872K 2YT43", "nppr9\u2013fwdcx\u2013d2c8j\u2013h872k\u20132yt43"])
def test_partial_key_cuts_key_forms(written):
    assert partial_key(written) == "2YT43"


def test_key_index_duplicate_partial(caplog):
    first = KeyUsage("A", "7QJ2K", None, 1, 0, 0, None)
    second = KeyUsage("B", "7qj2k", None, 1, 0, 0, None)
    with caplog.at_level(logging.WARNING):
        index = KeyIndex((first, second))
    assert index.find("7QJ2K") is first
    assert "share the partial product key" in caplog.text


def test_not_collected_by_status(result):
    assert dict(build_report(result).not_collected) == {"unreachable": 1, "auth_failed": 1, "timeout": 1, "error": 0}


def test_not_collected_counts_reached_failures():
    from makaudit.model import HostResult, HostStatus

    failed = HostResult(target="pc-q", status=HostStatus.ERROR, error="shell quota exceeded")
    report = build_report(make_result(hosts=(failed,)))
    counts = {fact.label: fact.value for fact in report.counts}
    assert counts["Not collected"] == 1
    assert "Not reachable" not in counts
    assert dict(report.not_collected)["error"] == 1


def test_not_collected_ok_without_state():
    from makaudit.model import HostResult, HostStatus

    empty = HostResult(target="pc-e", status=HostStatus.OK)
    assert dict(build_report(make_result(hosts=(empty,))).not_collected)["no data"] == 1


def test_history_keys_sorted():
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    points = (
        KeyTrendPoint(1, start, None, "ZZZZZ", 1),
        KeyTrendPoint(1, start, "win-b", "BBBBB", 2),
        KeyTrendPoint(1, start, None, "AAAAA", 3),
        KeyTrendPoint(1, start, "OFF-A", "CCCCC", 4),
        KeyTrendPoint(1, start, "WIN-A", "DDDDD", 5),
    )
    history = build_report(make_result(trends=points)).history
    headings = [column.heading for column in history.columns][2:]
    assert headings == ["OFF-A", "WIN-A", "win-b", "not in inventory (AAAAA)", "not in inventory (ZZZZZ)"]
    assert history.rows[0][2:] == (4, 5, 2, 3, 1)


def test_hosts_same_name_ordered_by_target():
    first = make_result().hosts[0]
    twin = HostResult(target="a-" + first.target, status=first.status, state=first.state)
    report = build_report(make_result(hosts=(first, twin)))

    assert report.hosts.column_values("target") == [twin.target, first.target]
