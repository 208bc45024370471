"""Reports of a run without an inventory: keys are named by partial key, never "not in inventory"."""

from __future__ import annotations

from io import StringIO

import openpyxl
import pytest
from rich.console import Console

from makaudit.model import AnalysisResult, Channel, KeyTrendPoint, KeyUsage, LicenseStatus
from makaudit.reports.console import render_host_card, render_summary
from makaudit.reports.excel import write_xlsx
from makaudit.reports.html import render_html
from makaudit.reports.model import NO_INVENTORY_NOTE, build_report
from report_samples import GENERATED, host, make_result, windows

PC = host("PC-0001", windows(Channel.MAK, "7RW4K", LicenseStatus.LICENSED))
OTHER = host("PC-0002", windows(Channel.MAK, "F63JR", LicenseStatus.LICENSED))
UNMATCHED = (KeyUsage(None, "7RW4K", None, None, 1, 0, None), KeyUsage(None, "F63JR", None, None, 1, 0, None))
TRENDS = (KeyTrendPoint(1, GENERATED, None, "F63JR", 1), KeyTrendPoint(1, GENERATED, None, "7RW4K", 1))


@pytest.fixture
def bare() -> AnalysisResult:
    return make_result(hosts=(PC, OTHER), keys=UNMATCHED, findings=(), positions=(), trends=TRENDS, inventory_loaded=False)


def render(draw, width: int = 100) -> str:
    console = Console(file=StringIO(), width=width)
    draw(console)
    return console.file.getvalue()


def test_verdict_without_inventory(bare):
    text = render(lambda console: render_host_card(console, PC, bare))
    assert "Activated with a MAK ending in 7RW4K (no inventory loaded to match it)" in text
    assert "not in the inventory" not in text


def test_card_without_inventory(bare):
    text = render(lambda console: render_host_card(console, PC, bare))
    assert "no inventory loaded" in text
    assert "not in inventory" not in text
    assert "1 activated" in text


def test_verdict_with_inventory_unknown_key(bare):
    loaded = make_result(hosts=(PC,), keys=UNMATCHED[:1], inventory_loaded=True)
    text = render(lambda console: render_host_card(console, PC, loaded))
    assert "Activated with MAK 7RW4K, which is not in the inventory" in text


def test_summary_without_inventory(bare):
    text = render(lambda console: render_summary(console, bare))
    assert "not in inventory" not in text
    assert "MAK activations (no inventory loaded)" in text
    words = " ".join(text.split())
    assert "No inventory loaded: MAKs are listed by partial product key." in words
    assert "Give --inventory to match them to their allotments." in words
    assert "7RW4K" in text
    assert "F63JR" in text


def test_summary_without_keys_or_inventory():
    empty = make_result(hosts=(), keys=(), findings=(), trends=(), inventory_loaded=False)
    text = render(lambda console: render_summary(console, empty))
    assert "No MAK was found on the hosts (no inventory loaded)." in text
    assert "inventory lists no keys" not in text


def test_model_keys_without_inventory(bare):
    report = build_report(bare)
    assert report.keys.column_values("key_id") == [None, None]
    assert report.keys.column_values("partial_product_key") == ["7RW4K", "F63JR"]
    assert [bar.label for bar in report.key_bars] == ["7RW4K", "F63JR"]


def test_model_hosts_without_inventory(bare):
    report = build_report(bare)
    assert report.hosts.column_values("key_id") == [None, None]


def test_model_note_without_inventory(bare):
    facts = {fact.label: fact.value for fact in build_report(bare).scan_facts}
    assert facts["Inventory"] == NO_INVENTORY_NOTE


def test_model_no_note_with_inventory():
    labels = [fact.label for fact in build_report(make_result()).scan_facts]
    assert "Inventory" not in labels


def test_history_headings_without_inventory(bare):
    history = build_report(bare).history
    assert [column.heading for column in history.columns][2:] == ["7RW4K", "F63JR"]


def test_workbook_without_inventory(tmp_path, bare):
    path = tmp_path / "bare.xlsx"
    write_xlsx(build_report(bare), path)
    workbook = openpyxl.load_workbook(path)

    keys = list(workbook["Keys"].iter_rows(min_row=2, max_col=2, values_only=True))
    assert keys == [(None, "7RW4K"), (None, "F63JR")]
    summary = {row[0]: row[1] for row in workbook["Summary"].iter_rows(min_row=2, max_col=2, values_only=True) if row[0]}
    assert summary["Inventory"] == NO_INVENTORY_NOTE
    values = [cell for sheet in workbook for row in sheet.iter_rows(values_only=True) for cell in row]
    assert not any(isinstance(value, str) and "not in inventory" in value for value in values)


def test_workbook_chart_names_bars_by_partial_key(tmp_path, bare):
    path = tmp_path / "bare.xlsx"
    write_xlsx(build_report(bare), path)
    chart = openpyxl.load_workbook(path)["Summary"]._charts[0]
    assert chart.series[0].cat.numRef.f == "'Keys'!$B$2:$B$3"


def test_html_without_inventory(bare):
    page = render_html(build_report(bare))
    assert "not in inventory" not in page
    assert "No inventory was given" in page
    assert "no inventory loaded" in page
