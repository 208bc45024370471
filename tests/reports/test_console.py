"""Terminal views rendered into a StringIO console, as they print when standard output is not a terminal."""

from __future__ import annotations

from io import StringIO

from rich.console import Console

from makaudit.model import AnalysisResult, Channel, HostResult, HostStatus, KeyUsage, LicenseStatus
from makaudit.reports.console import render_host_card, render_summary
from report_samples import SCRIPT, host, make_result, office, windows


def render(draw, width: int = 100) -> str:
    console = Console(file=StringIO(), width=width)
    draw(console)
    return console.file.getvalue()


def card(result: AnalysisResult, target: str) -> str:
    chosen = next(entry for entry in result.hosts if entry.target == target)
    return render(lambda console: render_host_card(console, chosen, result))


def test_plain_text_without_terminal(result):
    text = render(lambda console: render_summary(console, result))
    assert "\x1b[" not in text


def test_summary_key_usage(result):
    text = render(lambda console: render_summary(console, result))
    assert "3 / 2 (150.0%)" in text
    assert "9 / 10 (90.0%)" in text
    assert "1 (no allotment)" in text


def test_summary_counts_line(result):
    text = render(lambda console: render_summary(console, result), width=200)
    assert "13 hosts, 10 collected, 3 not collected (1 unreachable, 1 auth_failed, 1 timeout), 7 fully activated" in text
    assert "1 critical, 2 high" in text


def test_summary_top_findings_worst_first(result):
    text = render(lambda console: render_summary(console, result))
    assert "Top findings (6 of 6)" in text
    assert text.index("MAK_OVERUSE") < text.index("HOST_NOT_ACTIVATED") < text.index("HOST_STALE")


def test_summary_limits_findings():
    many = tuple(make_result().findings) * 5
    text = render(lambda console: render_summary(console, make_result(findings=many)))
    assert "Top findings (10 of 30)" in text


def test_summary_without_findings():
    text = render(lambda console: render_summary(console, make_result(findings=())))
    assert "No findings." in text


def test_card_over_allotment(result):
    text = card(result, "pc-0001.corp.example")
    assert "Verdict: Activated with MAK WIN-ENT-A, which is over its allotment (3 of 2 activations)" in text
    assert "7QJ2K" in text
    assert "3 / 2 (150.0%)" in text
    assert "MAK_OVERUSE" in text


def test_card_notification(result):
    text = card(result, "pc-0004.corp.example")
    assert "Verdict: Not activated: Windows is in Notification (0xC004F009, grace time expired)" in text
    assert "HOST_NOT_ACTIVATED" in text
    assert "9 / 10 (90.0%)" in text


def test_card_grace_days(result):
    text = card(result, "pc-0007.corp.example")
    assert "Not activated: Windows is in OOBGrace (30.0 days of grace left)" in text


def test_card_kms(result):
    text = card(result, "pc-0005.corp.example")
    assert "Verdict: Activated by KMS host kms01.corp.example:1688" in text


def test_card_unknown_mak(result):
    text = card(result, "pc-0006.corp.example")
    assert "Activated with MAK ZZZZZ, which is not in the inventory" in text


def test_card_unreachable(result):
    text = card(result, "10.0.0.9")
    assert "Not collected: the host could not be reached (connection refused on port 5985)" in text
    assert "HOST_UNREACHABLE" in text


def test_card_no_products(result):
    text = card(result, "pc-0008.corp.example")
    assert "No verdict: no product with an installed product key was reported" in text


def test_card_markup_printed_literally(result):
    text = card(result, f"{SCRIPT.lower()}.corp.example")
    assert SCRIPT in text


def test_card_rich_markup_not_interpreted():
    tricky = host("[bold]PC[/bold]", windows(Channel.RETAIL, "RET11", LicenseStatus.LICENSED, name="[red]Pro[/red]"))
    result = make_result(hosts=(tricky,))
    text = render(lambda console: render_host_card(console, tricky, result))
    assert "[bold]PC[/bold]" in text
    assert "[red]Pro[/red]" in text


def test_card_near_limit():
    key = KeyUsage("WIN-ENT-A", "7QJ2K", "Windows 11 Enterprise", 100, 95, 0, "active")
    single = host("PC-0001", windows(Channel.MAK, "7QJ2K", LicenseStatus.LICENSED))
    result = make_result(hosts=(single,), keys=(key,))
    text = render(lambda console: render_host_card(console, single, result))
    assert "which is near its allotment (95 of 100 activations)" in text


def test_card_revoked_key():
    key = KeyUsage("WIN-OLD", "7QJ2K", "Windows 10 Enterprise", 100, 5, 0, "Revoked")
    single = host("PC-0001", windows(Channel.MAK, "7QJ2K", LicenseStatus.LICENSED))
    result = make_result(hosts=(single,), keys=(key,))
    text = render(lambda console: render_host_card(console, single, result))
    assert "Activated with MAK WIN-OLD, which is revoked in the inventory" in text


def test_card_two_activated_products(result):
    both = host(
        "PC-0100",
        windows(Channel.MAK, "PRO42", LicenseStatus.LICENSED),
        office(Channel.KMS_CLIENT, "3V66T", LicenseStatus.LICENSED, kms_machine="kms01:1688"),
    )
    text = render(lambda console: render_host_card(console, both, make_result(hosts=(both,))), width=160)
    assert "Activated: Windows with MAK WIN-PRO-B (0 of 100 activations used); Office by KMS host kms01:1688" in text


def test_card_timeout_without_reason():
    timed_out = HostResult(target="pc-9", status=HostStatus.TIMEOUT)
    text = render(lambda console: render_host_card(console, timed_out, make_result(hosts=(timed_out,))))
    assert "Verdict: Not collected: the collection timed out" in text


def test_card_hides_full_key_in_error():
    leaked = HostResult(target="pc-9", status=HostStatus.ERROR, error="slmgr /ipk NPPR9-FWDCX-D2C8J-H872K-2YT43 failed")
    text = render(lambda console: render_host_card(console, leaked, make_result(hosts=(leaked,))))
    assert "NPPR9" not in text
    assert "XXXXX-XXXXX-XXXXX-XXXXX-2YT43" in text


def test_card_grace_hours_one_decimal():
    short = host("PC-0020", windows(Channel.MAK, "PRO42", LicenseStatus.OOB_GRACE, grace_minutes=372))
    text = card(make_result(hosts=(short,)), "pc-0020.corp.example")
    assert "(0.3 days of grace left)" in text
