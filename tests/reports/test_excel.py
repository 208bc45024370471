"""The workbook, opened back with openpyxl: sheets, rows, formats, rules, charts and hostile strings."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from openpyxl.chart import BarChart, LineChart

from report_samples import FORMULA, SCAN, SCRIPT, make_result, sample_keys
from makaudit.model import AnalysisResult, Finding, HostResult, HostStatus, KeyTrendPoint, KeyUsage, Severity
from makaudit.reports.atomic import ReportWriteError
from makaudit.reports.excel import print_pages_wide, write_xlsx
from makaudit.reports.excel_cells import wrapped_row_height
from makaudit.reports.model import HOST_COLUMNS, KEY_COLUMNS, build_report

SHEETS = ["Summary", "Keys", "Findings", "Hosts", "Unreachable", "History"]


@pytest.fixture
def workbook_path(tmp_path: Path, result: AnalysisResult) -> Path:
    path = tmp_path / "audit.xlsx"
    write_xlsx(build_report(result, title="Fleet audit", scan=SCAN), path)
    return path


@pytest.fixture
def workbook(workbook_path: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(workbook_path)


def header(sheet) -> list[object]:
    return [cell.value for cell in sheet[1]]


def column_cells(sheet, heading: str) -> list:
    position = header(sheet).index(heading) + 1
    return [row[0] for row in sheet.iter_rows(min_row=2, min_col=position, max_col=position)]


def test_sheets_in_order(workbook):
    assert workbook.sheetnames == SHEETS


def test_workbook_properties(workbook):
    assert workbook.properties.title == "Fleet audit"
    assert isinstance(workbook.properties.created, datetime)


@pytest.mark.parametrize("name", SHEETS)
def test_every_sheet_frozen_and_filtered(workbook, name):
    sheet = workbook[name]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref is not None
    assert sheet.auto_filter.ref.startswith("A1:")


@pytest.mark.parametrize("name", SHEETS)
def test_every_sheet_has_fitted_widths(workbook, name):
    widths = {letter: dimension.width for letter, dimension in workbook[name].column_dimensions.items()}
    assert widths
    assert all(3 <= width <= 60 for width in widths.values())


def test_keys_sheet_rows(workbook, result):
    sheet = workbook["Keys"]
    assert header(sheet) == [column.heading for column in KEY_COLUMNS]
    assert sheet.max_row == len(result.keys) + 1

    first = {heading: cell.value for heading, cell in zip(header(sheet), sheet[2])}
    assert first["Key ID"] == "WIN-ENT-A"
    assert first["Allotment"] == 2
    assert first["Activated"] == 3
    assert first["Remaining"] == -1
    assert first["Utilization"] == pytest.approx(1.5)


def test_keys_utilization_is_percent(workbook):
    cells = [cell for cell in column_cells(workbook["Keys"], "Utilization") if cell.value is not None]
    assert cells
    assert all(cell.number_format == "0.0%" for cell in cells)
    assert all(cell.data_type == "n" for cell in cells)


def test_missing_key_shown_without_allotment(workbook):
    rows = list(workbook["Keys"].iter_rows(min_row=2, values_only=True))
    unknown = [row for row in rows if row[1] == "ZZZZZ"]
    assert unknown == [("not in inventory (ZZZZZ)", "ZZZZZ", None, None, None, 1, 0, None, None, None)]


def test_keys_conditional_formatting_rules(workbook):
    formatting = workbook["Keys"].conditional_formatting
    ranges = [str(entry.sqref) for entry in formatting]
    assert ranges == ["A2:J5"]

    rules = [rule for entry in formatting for rule in entry.rules]
    formulas = [rule.formula[0] for rule in rules]
    assert formulas == [
        'AND(OR($D2="revoked",$D2="compromised"),N($F2)+N($G2)>0)',
        'AND($D2="retired",N($F2)+N($G2)>0)',
        "AND(ISNUMBER($E2),$F2>$E2)",
        "AND(ISNUMBER($E2),$E2>0,$F2>=$E2*0.9)",
    ]
    assert all(rule.type == "expression" for rule in rules)
    assert all(rule.stopIfTrue for rule in rules)

    fills = [rule.dxf.fill.fgColor.rgb for rule in rules]
    assert fills == ["00F8696B", "00FFC000", "00F8696B", "00FFC000"]


def test_near_limit_threshold_reaches_rule(tmp_path):
    path = tmp_path / "threshold.xlsx"
    write_xlsx(build_report(make_result(near_limit_threshold=0.75)), path)
    rules = [rule for entry in openpyxl.load_workbook(path)["Keys"].conditional_formatting for rule in entry.rules]
    assert rules[-1].formula[0].endswith("*0.75)")


def test_summary_chart_is_bar_with_two_series(workbook):
    charts = workbook["Summary"]._charts
    assert len(charts) == 1
    chart = charts[0]
    assert isinstance(chart, BarChart)
    assert len(chart.series) == 2
    references = [series.val.numRef.f for series in chart.series]
    assert references == ["'Keys'!$F$2:$F$5", "'Keys'!$E$2:$E$5"]


def test_summary_facts_and_counts(workbook, result):
    sheet = workbook["Summary"]
    assert header(sheet)[:2] == ["Item", "Value"]
    facts = {row[0]: row[1] for row in sheet.iter_rows(min_row=2, max_col=2, values_only=True) if row[0]}

    assert facts["Report"] == "Fleet audit"
    assert facts["Source"] == "scan over winrm/ntlm"
    assert facts["Scan started (UTC)"] == datetime(2026, 12, 4, 19, 30)
    assert facts["Targets"] == 13
    assert facts["Hosts"] == len(result.hosts)
    assert facts["Collected"] == 10
    assert facts["Not collected"] == 3
    assert facts["Not collected: unreachable"] == 1
    assert facts["Not collected: auth_failed"] == 1
    assert facts["Not collected: timeout"] == 1
    assert facts["Not collected: error"] == 0
    assert facts["Active findings: critical"] == 1
    assert facts["Active findings: high"] == 2
    assert facts["Near-limit threshold"] == pytest.approx(0.9)


def test_summary_positions_block(workbook):
    sheet = workbook["Summary"]
    assert header(sheet)[3:7] == ["Product", "Entitlement", "Deployed", "Surplus"]
    rows = list(sheet.iter_rows(min_row=2, max_row=4, min_col=4, max_col=7, values_only=True))
    assert rows[1] == ("Office LTSC Professional Plus 2021", 8, 9, -1)
    assert rows[2] == ("Windows 11 Pro", None, 1, None)


def test_summary_dates_are_excel_dates(workbook):
    cells = [row[1] for row in workbook["Summary"].iter_rows(min_row=2, max_col=2) if isinstance(row[1].value, datetime)]
    assert len(cells) == 3
    assert all(cell.is_date for cell in cells)
    assert all(cell.number_format == "yyyy-mm-dd hh:mm" for cell in cells)


def test_findings_sorted_by_severity(workbook, result):
    sheet = workbook["Findings"]
    assert sheet.max_row == len(result.findings) + 1
    severities = [cell.value for cell in column_cells(sheet, "Severity")]
    assert severities == ["critical", "high", "high", "medium", "low", "info"]


def test_findings_severity_fills(workbook):
    cells = column_cells(workbook["Findings"], "Severity")
    fills = {cell.value: cell.fill.fgColor.rgb for cell in cells}
    assert fills["critical"] == "00C00000"
    assert fills["high"] == "00F8696B"
    assert fills["medium"] == "00FFC000"
    assert fills["low"] == "00FFEB84"
    assert fills["info"] == "00DDEBF7"


def test_findings_list_affected_hosts(workbook):
    sheet = workbook["Findings"]
    first = {heading: cell.value for heading, cell in zip(header(sheet), sheet[2])}
    assert first["Affected hosts"] == 3
    assert first["Hosts"] == "PC-0001, PC-0002, PC-0003"


def test_hosts_one_row_per_record(workbook, result):
    sheet = workbook["Hosts"]
    assert header(sheet) == [column.heading for column in HOST_COLUMNS]

    expected = sum(max(1, len(host.state.records)) if host.state else 1 for host in result.hosts)
    assert sheet.max_row == expected + 1

    targets = [cell.value for cell in column_cells(sheet, "Target")]
    assert targets.count("pc-0004.corp.example") == 2
    assert targets.count("pc-0008.corp.example") == 1
    assert "10.0.0.9" in targets


def test_hosts_collected_is_date(workbook):
    cells = [cell for cell in column_cells(workbook["Hosts"], "Collected (UTC)") if cell.value is not None]
    assert cells
    assert all(cell.is_date for cell in cells)
    assert cells[0].value == datetime(2026, 12, 4, 19, 39, 58)


def test_hosts_partial_keys_upper_case(workbook):
    keys = [cell.value for cell in column_cells(workbook["Hosts"], "Partial key") if cell.value]
    assert "7qj2k" not in keys
    assert all(len(key) == 5 for key in keys)


def test_unreachable_sheet(workbook):
    rows = list(workbook["Unreachable"].iter_rows(values_only=True))
    assert rows[0] == ("Target", "Status", "Reason")
    assert rows[1:] == [
        ("10.0.0.9", "unreachable", "connection refused on port 5985"),
        ("pc-0010.corp.example", "auth_failed", "NTLM authentication failed for CORP\\audit"),
        ("pc-0011.corp.example", "timeout", "no reason was recorded"),
    ]


def test_history_sheet_and_line_chart(workbook):
    sheet = workbook["History"]
    assert header(sheet) == ["Scan", "Started (UTC)", "OFF-PP-A", "WIN-ENT-A", "not in inventory (ZZZZZ)"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert rows[0] == (1, datetime(2026, 11, 1, 2, 0), 7, 1, None)
    assert rows[2] == (3, datetime(2026, 11, 15, 2, 0), 9, 3, 1)

    charts = sheet._charts
    assert len(charts) == 1
    assert isinstance(charts[0], LineChart)
    assert len(charts[0].series) == 3


def test_history_sheet_absent_without_trends(tmp_path):
    path = tmp_path / "no-trends.xlsx"
    write_xlsx(build_report(make_result(trends=())), path)
    assert "History" not in openpyxl.load_workbook(path).sheetnames


def test_formula_lands_as_text(workbook):
    cells = [cell for cell in column_cells(workbook["Hosts"], "Product") if cell.value == FORMULA]
    assert len(cells) == 1
    assert cells[0].data_type == "s"
    assert cells[0].value == FORMULA


def test_formula_message_in_findings_is_text(workbook):
    cells = [cell for cell in column_cells(workbook["Findings"], "Message") if cell.value == FORMULA]
    assert len(cells) == 1
    assert cells[0].data_type == "s"


@pytest.mark.parametrize("value", ["+1+2", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1", "#N/A"])
def test_formula_prefixes_stay_text(tmp_path, value):
    hosts = (HostResult(target="pc-x", status=HostStatus.ERROR, error=value),)
    path = tmp_path / "prefix.xlsx"
    write_xlsx(build_report(make_result(hosts=hosts, trends=())), path)

    cell = openpyxl.load_workbook(path)["Unreachable"]["C2"]
    assert cell.data_type == "s"
    # lxml writes a carriage return as the reference &#13;, which reads back unchanged. The
    # standard-library writer writes it raw, and XML parsers read a raw one as a line feed.
    assert cell.value == (value if openpyxl.LXML else value.replace("\r", "\n"))
    assert cell.quotePrefix


def test_script_name_written_verbatim(workbook):
    computers = [cell.value for cell in column_cells(workbook["Hosts"], "Computer")]
    assert SCRIPT in computers


def test_control_characters_removed(workbook):
    products = [cell.value for cell in column_cells(workbook["Hosts"], "Product")]
    assert "Windows Pro edition" in products


def test_atomic_write_missing_folder(tmp_path, result):
    target = tmp_path / "missing" / "audit.xlsx"
    with pytest.raises(ReportWriteError, match="does not exist"):
        write_xlsx(build_report(result), target)
    assert not target.parent.exists()


def test_atomic_write_keeps_old_file(tmp_path, monkeypatch):
    streams = tmp_path / "streams"
    streams.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(streams))
    target = tmp_path / "audit.xlsx"
    target.write_bytes(b"previous report")
    broken = make_result(hosts=(HostResult(target="pc-x", status=HostStatus.OK, state=None),), trends=())
    report = build_report(broken)
    # A date column holding text makes the writer fail midway, after sheets were started.
    object.__setattr__(report.hosts, "rows", (("pc-x", None, None, None, "ok", "not a date") + (None,) * 9,))

    with pytest.raises(TypeError, match="contains dates"):
        write_xlsx(report, target)

    assert target.read_bytes() == b"previous report"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["audit.xlsx", "streams"]
    assert list(streams.iterdir()) == []


def test_atomic_write_replaces_file(tmp_path, result):
    target = tmp_path / "audit.xlsx"
    target.write_bytes(b"previous report")
    write_xlsx(build_report(result), target)
    assert openpyxl.load_workbook(target).sheetnames == SHEETS
    assert sorted(path.name for path in tmp_path.iterdir()) == ["audit.xlsx"]


def test_folder_as_target_rejected(tmp_path, result):
    with pytest.raises(ReportWriteError, match="is a folder"):
        write_xlsx(build_report(result), tmp_path)


def test_empty_analysis_writes_workbook(tmp_path):
    path = tmp_path / "empty.xlsx"
    empty = AnalysisResult(generated_at=datetime(2026, 12, 4, 19, 40), hosts=())
    write_xlsx(build_report(empty), path)

    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == SHEETS[:-1]
    assert workbook["Keys"].max_row == 1
    assert workbook["Summary"]._charts == []
    assert workbook["Keys"].conditional_formatting._cf_rules == {}


def test_full_key_cut_to_partial(tmp_path):
    leaked = KeyUsage("WIN-X", "NPPR9-FWDCX-D2C8J-H872K-2YT43", "Windows", 5, 1, 0, "active")
    path = tmp_path / "leak.xlsx"
    write_xlsx(build_report(make_result(keys=(leaked,), trends=())), path)

    values = [cell.value for row in openpyxl.load_workbook(path)["Keys"].iter_rows() for cell in row]
    assert "2YT43" in values
    assert not any(isinstance(value, str) and "NPPR9" in value for value in values)


def test_findings_rows_with_wrapped_text_get_heights(tmp_path):
    long_message = "The MAK is activated on more hosts than its allotment allows. " * 6
    findings = (
        Finding("MAK_OVERUSE", Severity.CRITICAL, long_message, "Request more activations", key_id="WIN-ENT-A"),
        Finding("HOST_STALE", Severity.INFO, "short", "short", host="PC-0001"),
    )
    path = tmp_path / "heights.xlsx"
    write_xlsx(build_report(make_result(findings=findings)), path)
    sheet = openpyxl.load_workbook(path)["Findings"]

    message_width = sheet.column_dimensions["G"].width
    expected_lines = -(-len(long_message) // (int(message_width) - 1))
    assert expected_lines > 1
    assert sheet.row_dimensions[2].height == 15.0 * expected_lines
    assert sheet.row_dimensions[3].height is None


def test_wrapped_row_height_counts_line_feeds():
    assert wrapped_row_height(("a\nb\nc", "x"), [0], [20.0, 10.0]) == 45.0
    assert wrapped_row_height(("short", None), [0, 1], [20.0, 10.0]) is None
    assert wrapped_row_height(("y" * 100_000,), [0], [60.0]) == 409.0


def test_narrow_sheets_print_one_page_wide(workbook):
    for name in ("Summary", "Keys", "Unreachable"):
        setup = workbook[name].page_setup
        assert setup.orientation == "landscape", name
        assert setup.fitToWidth in (1, None), name  # openpyxl reads the default of 1 back as None


def test_wide_sheets_print_over_several_pages(tmp_path):
    trends = tuple(
        KeyTrendPoint(scan, datetime(2026, 11, scan, 2, 0), f"WIN-ENT-MAK-{index:02d}", f"K{index:04d}", index)
        for scan in (1, 2)
        for index in range(24)
    )
    path = tmp_path / "wide.xlsx"
    write_xlsx(build_report(make_result(trends=trends)), path)
    workbook = openpyxl.load_workbook(path)

    assert workbook["History"].page_setup.fitToWidth >= 2
    assert workbook["Hosts"].page_setup.fitToWidth >= 2
    assert workbook["History"].page_setup.orientation == "landscape"


@pytest.mark.parametrize(("width", "pages"), [(10, 1), (190, 1), (191, 2), (500, 3)])
def test_print_pages_wide(width, pages):
    assert print_pages_wide(width) == pages


def test_unknown_keys_named_by_partial_key(tmp_path):
    keys = sample_keys() + (KeyUsage(None, "9C6JF", None, None, 2, 0, None),)
    path = tmp_path / "unknown.xlsx"
    write_xlsx(build_report(make_result(keys=keys)), path)
    workbook = openpyxl.load_workbook(path)

    key_ids = [row[0] for row in workbook["Keys"].iter_rows(min_row=2, values_only=True)]
    assert key_ids[-2:] == ["not in inventory (ZZZZZ)", "not in inventory (9C6JF)"]
    chart = workbook["Summary"]._charts[0]
    assert chart.series[0].cat.numRef.f == "'Keys'!$A$2:$A$6"  # the key ID column names the bars
    inventory_keys = dict(
        (row[1], row[-1]) for row in workbook["Hosts"].iter_rows(min_row=2, values_only=True) if row[1]
    )
    assert inventory_keys["PC-0006"] == "not in inventory (ZZZZZ)"


def test_grace_days_one_decimal(workbook):
    cells = {
        row[1].value: row[12] for row in workbook["Hosts"].iter_rows(min_row=2) if row[1].value in ("PC-0005", "PC-0007")
    }
    assert header(workbook["Hosts"])[12] == "Grace days left"
    assert cells["PC-0005"].number_format == "#,##0.0"
    assert cells["PC-0005"].value == pytest.approx(179.86, abs=0.01)
    assert cells["PC-0007"].value == 30


def test_hosts_and_unreachable_sorted(tmp_path):
    hosts = tuple(reversed(make_result().hosts))
    path = tmp_path / "sorted.xlsx"
    write_xlsx(build_report(make_result(hosts=hosts)), path)
    workbook = openpyxl.load_workbook(path)

    computers = [row[1] for row in workbook["Hosts"].iter_rows(min_row=2, values_only=True)]
    named = [name for name in computers if name is not None]
    assert named == sorted(named, key=str.casefold)
    assert computers[: len(named)] == named  # hosts without a computer name come last
    targets = [row[0] for row in workbook["Unreachable"].iter_rows(min_row=2, values_only=True)]
    assert targets == ["10.0.0.9", "pc-0010.corp.example", "pc-0011.corp.example"]
