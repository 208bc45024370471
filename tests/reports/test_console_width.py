"""Terminal tables at the 80 columns rich uses when standard output is a pipe or a file."""

from __future__ import annotations

from io import StringIO

from rich.console import Console

from makaudit.model import Channel, Finding, HostResult, HostStatus, KeyUsage, LicenseStatus, Severity
from makaudit.reports.console import render_host_card, render_summary
from report_samples import host, make_result, office, windows

LONG_IDS = ("WIN-ENT-MAK-2024-EMEA-01", "OFF-PP-MAK-2021-GLOBAL-07")
LONG_HOST = "fileserver-prod-0042.emea.corp.example"
KEYS = (
    KeyUsage(LONG_IDS[0], "7QJ2K", "Windows 11 Enterprise", 150, 162, 3, "active"),
    KeyUsage(LONG_IDS[1], "H8Q99", "Office LTSC Professional Plus 2021", 1500, 1234, 0, "active"),
    KeyUsage(None, "ZZZZZ", None, None, 1, 0, None),
)
PC = host(
    "PC-0004",
    windows(Channel.KMS_CLIENT, "3V66T", LicenseStatus.NOTIFICATION, license_status_reason="0xC004F009"),
    office(Channel.MAK, "H8Q99", LicenseStatus.LICENSED),
)
FINDINGS = (
    Finding(
        "HOST_UNREACHABLE",
        Severity.LOW,
        f"{LONG_HOST} could not be reached over WinRM on port 5985 after three attempts",
        "Check the firewall",
        host=LONG_HOST,
    ),
    Finding("MAK_OVERUSE", Severity.CRITICAL, "over its allotment", "Request more", key_id=LONG_IDS[0], partial_product_key="7QJ2K"),
)


def render80(draw) -> str:
    console = Console(file=StringIO(), width=80)
    draw(console)
    return console.file.getvalue()


def test_summary_full_key_ids():
    result = make_result(keys=KEYS, findings=FINDINGS)
    text = render80(lambda console: render_summary(console, result))
    for key_id in LONG_IDS:
        assert key_id in text
    assert "not in inventory (ZZZZZ)" in text
    assert "…" not in text


def test_summary_full_figures():
    result = make_result(keys=KEYS, findings=FINDINGS)
    text = render80(lambda console: render_summary(console, result))
    # A figure column may wrap between words, never inside a number.
    assert "162 / 150" in text
    assert "(108.0%)" in text
    assert "1,234 /" in text
    assert "1,500" in text
    assert "-12" in text


def test_summary_full_host_names():
    result = make_result(keys=KEYS, findings=FINDINGS)
    text = render80(lambda console: render_summary(console, result))
    assert LONG_HOST in text


def test_lines_fit_80_columns():
    result = make_result(keys=KEYS, findings=FINDINGS)
    text = render80(lambda console: render_summary(console, result))
    assert max(len(line) for line in text.splitlines()) <= 80


def test_card_full_inventory_key():
    result = make_result(hosts=(PC,), keys=KEYS, findings=())
    text = render80(lambda console: render_host_card(console, PC, result))
    assert LONG_IDS[1] in text
    assert "H8Q99" in text
    assert "1,234 /" in text
    assert "(82.3%)" in text
    assert "…" not in text


def test_card_full_host_name():
    failed = HostResult(target=LONG_HOST, status=HostStatus.UNREACHABLE, error="connection refused")
    result = make_result(hosts=(failed,), keys=KEYS, findings=FINDINGS)
    text = render80(lambda console: render_host_card(console, failed, result))
    assert LONG_HOST in text
    assert "…" not in text


def test_findings_show_file_name_of_imported_capture():
    from makaudit.reports.console import _short_subject

    assert _short_subject("/srv/collected/site-a/slmgr-pc.txt") == "slmgr-pc.txt"
    assert _short_subject("C:\\collected\\pc.json") == "pc.json"
    assert _short_subject("PC-0042") == "PC-0042"
    assert _short_subject(None) is None
