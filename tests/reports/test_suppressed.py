"""Suppressed findings: shown and marked in every report, left out of the severity totals."""

from __future__ import annotations

from io import StringIO

import openpyxl
import pytest
from rich.console import Console

from makaudit.model import AnalysisResult, Finding, Severity
from makaudit.reports.console import render_host_card, render_summary
from makaudit.reports.excel import SUPPRESSED_FILL, write_xlsx
from makaudit.reports.html import render_html
from makaudit.reports.model import build_report
from report_samples import make_result, sample_findings

ACCEPTED = Finding(
    "MAK_UNKNOWN_KEY",
    Severity.CRITICAL,
    "ACCEPTED-KEY-MESSAGE",
    "Add it to the inventory",
    host="PC-0006",
    partial_product_key="ZZZZZ",
    suppressed=True,
    suppression_reason="lab machine, approved by J. Doe",
)


@pytest.fixture
def with_suppressed() -> AnalysisResult:
    return make_result(findings=sample_findings() + (ACCEPTED,))


def test_severity_counts_skip_suppressed(with_suppressed):
    counts = dict(build_report(with_suppressed).severity_counts)
    assert counts[Severity.CRITICAL] == 1


def test_counts_split_active_and_suppressed(with_suppressed):
    counts = {fact.label: fact.value for fact in build_report(with_suppressed).counts}
    assert counts["Active findings"] == 6
    assert counts["Suppressed findings"] == 1


def test_findings_table_marks_suppressed(with_suppressed):
    table = build_report(with_suppressed).findings
    assert table.column_values("suppressed") == ["no"] * 6 + ["yes"]
    assert table.column_values("suppression_reason")[-1] == "lab machine, approved by J. Doe"
    assert table.column_values("message")[-1] == "ACCEPTED-KEY-MESSAGE"


def test_workbook_suppressed_row(tmp_path, with_suppressed):
    path = tmp_path / "audit.xlsx"
    write_xlsx(build_report(with_suppressed), path)
    workbook = openpyxl.load_workbook(path)

    sheet = workbook["Findings"]
    headings = [cell.value for cell in sheet[1]]
    last = {heading: cell for heading, cell in zip(headings, sheet[sheet.max_row])}
    assert last["Suppressed"].value == "yes"
    assert last["Suppression reason"].value == "lab machine, approved by J. Doe"
    assert last["Severity"].fill.start_color.rgb.endswith(SUPPRESSED_FILL.start_color.rgb[-6:])

    summary = {row[0]: row[1] for row in workbook["Summary"].iter_rows(min_row=2, max_col=2, values_only=True) if row[0]}
    assert summary["Active findings: critical"] == 1
    assert summary["Suppressed findings"] == 1


def test_html_suppressed_row_greyed(with_suppressed):
    page = render_html(build_report(with_suppressed))
    row_start = page.index('<tr class="suppressed">')
    assert "ACCEPTED-KEY-MESSAGE" in page[row_start : page.index("</tr>", row_start)]
    assert "critical (suppressed)" in page
    assert "critical: 1" in page


def test_terminal_summary_marks_suppressed(with_suppressed):
    console = Console(file=StringIO(), width=200)
    render_summary(console, with_suppressed)
    text = console.file.getvalue()
    assert "findings: 1 critical, 2 high, 1 medium, 1 low, 1 info; 1 suppressed" in text
    assert "critical (suppressed)" in text
    assert "[suppressed: lab machine, approved by J. Doe]" in text
    assert text.index("HOST_STALE") < text.index("ACCEPTED-KEY-MESSAGE")


def test_terminal_card_marks_suppressed(with_suppressed):
    chosen = next(entry for entry in with_suppressed.hosts if entry.target == "pc-0006.corp.example")
    console = Console(file=StringIO(), width=200)
    render_host_card(console, chosen, with_suppressed)
    text = console.file.getvalue()
    assert "critical (suppressed)" in text
    assert text.index("ZZZZZ is not in the inventory") < text.index("ACCEPTED-KEY-MESSAGE")
