"""Revoked, compromised and retired keys that hosts still use are marked in every report, whatever their usage."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

import openpyxl
import pytest
from rich.console import Console

from makaudit.model import KeyUsage
from makaudit.reports.console import render_summary, usage_text
from makaudit.reports.excel import write_xlsx
from makaudit.reports.html import render_html
from makaudit.reports.model import build_report
from makaudit.reports.usage import StatusAlert, UsageState, status_alert
from report_samples import make_result


def key_with_status(status: str | None, activated: int = 2, installed: int = 0, key_id: str = "WIN-ENT-MAK-C") -> KeyUsage:
    return KeyUsage(key_id, "9C6JF", "Windows 11 Enterprise", 20, activated, installed, status)


def bar_markup(page: str, label: str) -> str:
    """Return the three grid cells of the usage bar named ``label``."""
    match = re.search(r'<div class="name">.*?' + re.escape(label) + r".*?</div>\s*<div class=\"track\".*?</div></div>\s*<div class=\"figure[^>]*>.*?</div>", page, re.S)
    assert match is not None, f"no usage bar for {label}"
    return match.group(0)


@pytest.mark.parametrize(
    ("status", "activated", "installed", "alert"),
    [
        ("revoked", 2, 0, StatusAlert.BLOCKED),
        ("compromised", 0, 1, StatusAlert.BLOCKED),
        ("Revoked", 1, 0, StatusAlert.BLOCKED),
        ("retired", 2, 0, StatusAlert.RETIRED),
        ("revoked", 0, 0, None),  # no host uses it any more
        ("retired", 0, 0, None),
        ("active", 2, 0, None),
        (None, 2, 0, None),
    ],
)
def test_status_alert_cases(status, activated, installed, alert):
    assert status_alert(key_with_status(status, activated, installed)) is alert


@pytest.mark.parametrize(
    ("status", "css_class"),
    [("revoked", "over"), ("compromised", "over"), ("retired", "near")],
)
def test_html_bar_shows_status(status, css_class):
    report = build_report(make_result(keys=(key_with_status(status),)))
    assert report.key_bars[0].state is UsageState.OK

    bar = bar_markup(render_html(report), "WIN-ENT-MAK-C")

    assert f'<div class="fill {css_class}"' in bar
    assert f'<div class="figure {css_class}">' in bar
    assert f'<span class="status">{status}</span>' in bar
    assert f'<span class="id {css_class}">WIN-ENT-MAK-C</span>' in bar


def test_html_unused_revoked_key_stays_green():
    report = build_report(make_result(keys=(key_with_status("revoked", activated=0),)))

    bar = bar_markup(render_html(report), "WIN-ENT-MAK-C")

    assert '<div class="fill ok"' in bar
    assert 'class="status"' not in bar


def test_excel_status_rules_precede_usage(tmp_path: Path):
    keys = (key_with_status("revoked"), key_with_status("retired", key_id="WIN-ENT-B"), key_with_status("active", key_id="WIN-ENT-C"))
    path = tmp_path / "status.xlsx"
    write_xlsx(build_report(make_result(keys=keys)), path)
    sheet = openpyxl.load_workbook(path)["Keys"]

    statuses = [row[3] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert [cell.value for cell in sheet[1]][3] == "Key status"
    assert statuses == ["revoked", "retired", "active"]

    rules = [rule for entry in sheet.conditional_formatting for rule in entry.rules]
    assert 'OR($D2="revoked",$D2="compromised")' in rules[0].formula[0]
    assert rules[0].dxf.fill.fgColor.rgb == "00F8696B"
    assert '$D2="retired"' in rules[1].formula[0]
    assert rules[1].dxf.fill.fgColor.rgb == "00FFC000"
    assert all(rule.stopIfTrue for rule in rules)


def test_terminal_shows_status_next_to_key():
    keys = (key_with_status("revoked"), key_with_status("retired", activated=0, key_id="WIN-ENT-B"))
    console = Console(file=StringIO(), width=140)

    render_summary(console, make_result(keys=keys, findings=()))
    text = console.file.getvalue()

    assert "WIN-ENT-MAK-C (revoked)" in text
    assert "WIN-ENT-B (retired)" in text


@pytest.mark.parametrize(("status", "style"), [("revoked", "bold red"), ("retired", "yellow"), ("active", "green")])
def test_terminal_usage_colour_follows_status(status, style):
    assert usage_text(key_with_status(status), threshold=0.9).style == style
