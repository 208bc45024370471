"""The Excel workbook: Summary, Keys, Findings, Hosts, Unreachable and History sheets.

The workbook is streamed with openpyxl's write-only mode, so a fleet of
100,000 hosts does not hold a cell object per value in memory. A streaming
sheet takes its column widths and frozen panes before its first row, and its
filters, conditional formatting and charts at any time before saving.

openpyxl serialises cells with lxml when lxml is importable and with the
standard library otherwise. Both produce the same cells, but lxml writes a
carriage return in text as ``&#13;``, so it reads back as a carriage return
instead of a line feed, and it is the faster writer.
"""

from __future__ import annotations

import contextlib
import logging
import math
from datetime import datetime, timezone
from pathlib import Path

import openpyxl
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from makaudit.model import Severity
from makaudit.reports.atomic import write_atomically
from makaudit.reports.excel_cells import (
    cell_writer,
    fitted_widths,
    header_cells,
    set_widths,
    text_cell,
    wrapped_row_height,
)
from makaudit.reports.model import Column, ColumnType, Fact, Report, Table

logger = logging.getLogger(__name__)

OVER_FILL = PatternFill("solid", start_color="F8696B", end_color="F8696B")
NEAR_FILL = PatternFill("solid", start_color="FFC000", end_color="FFC000")
SEVERITY_FILLS = {
    Severity.CRITICAL: PatternFill("solid", start_color="C00000"),
    Severity.HIGH: PatternFill("solid", start_color="F8696B"),
    Severity.MEDIUM: PatternFill("solid", start_color="FFC000"),
    Severity.LOW: PatternFill("solid", start_color="FFEB84"),
    Severity.INFO: PatternFill("solid", start_color="DDEBF7"),
}
SEVERITY_FONTS = {Severity.CRITICAL: Font(name="Calibri", bold=True, color="FFFFFF")}
SUPPRESSED_FILL = PatternFill("solid", start_color="D9D9D9")
SUPPRESSED_FONT = Font(name="Calibri", italic=True, color="7F7F7F")

_WRAPPED_FINDING_COLUMNS = ("message", "remediation", "hosts")
_POSITIONS_FIRST_COLUMN = 4
"""The positions block on the Summary sheet starts in column D, after a blank column C."""

PAGE_WIDTH_CHARACTERS = 190.0
"""Column width, in characters, printed on one landscape A4 or Letter page.

About 145 characters of 11-point Calibri fit at 100 %, so this scales the text to
about 75 %, which still reads well. A wider sheet prints on more pages instead of
shrinking further.
"""
_HISTORY_CHART_WIDTH_CM = 24.0
_CHARACTERS_PER_CM = 5.3
"""Approximate columns of default width per centimetre (a width of 1 is about 0.19 cm)."""


def write_xlsx(report: Report, path: Path) -> None:
    """Write ``report`` as an Excel workbook to ``path``, atomically.

    Raises ``ReportWriteError`` when the folder is missing or the file cannot
    be written; an existing file at ``path`` is then left unchanged.
    """
    write_atomically(Path(path), lambda temporary: _save_workbook(report, temporary))


def _save_workbook(report: Report, path: Path) -> None:
    xml_writer = "lxml" if openpyxl.LXML else "standard-library"
    logger.debug("writing %d host rows to %s with the %s XML writer", len(report.hosts), path, xml_writer)
    workbook = Workbook(write_only=True)
    workbook.properties.title = report.title
    workbook.properties.creator = "makaudit"
    workbook.properties.created = datetime.now(timezone.utc).replace(tzinfo=None)
    try:
        _fill_workbook(workbook, report)
        workbook.save(path)
    except BaseException:
        _discard_sheets(workbook)
        raise


def _fill_workbook(workbook: Workbook, report: Report) -> None:
    summary = workbook.create_sheet("Summary")
    keys = workbook.create_sheet("Keys")
    _write_summary(summary, report)
    _write_keys(keys, report)
    _add_usage_chart(summary, keys, report)

    _write_findings(workbook.create_sheet("Findings"), report.findings)
    _write_table(workbook.create_sheet("Hosts"), report.hosts)
    _write_table(workbook.create_sheet("Unreachable"), report.unreachable)
    if report.history is not None:
        history = workbook.create_sheet("History")
        _write_table(history, report.history, extra_print_width=_HISTORY_CHART_WIDTH_CM * _CHARACTERS_PER_CM)
        _add_history_chart(history, report.history)


def _discard_sheets(workbook: Workbook) -> None:
    """Close the row streams of a workbook that failed midway and remove their temporary files."""
    for sheet in workbook.worksheets:
        writer = getattr(sheet, "_writer", None)
        if writer is None or sheet.closed:
            continue
        # Cleanup runs while another exception propagates; a second failure here must not replace it.
        with contextlib.suppress(OSError, ValueError, StopIteration):
            if sheet._rows is not None:
                sheet._rows.close()
            writer.close()
            writer.cleanup()


def _write_table(sheet: WriteOnlyWorksheet, table: Table, extra_print_width: float = 0.0) -> None:
    """Write a header row and the table's rows, with widths, a frozen header and an autofilter.

    ``extra_print_width`` is the width, in characters, of a chart beside the table, so that
    the page setup counts it too.
    """
    widths = fitted_widths(table.columns, table.rows)
    _prepare_sheet(sheet, widths, extra_print_width)

    writers = [cell_writer(sheet, column) for column in table.columns]
    sheet.append(header_cells(sheet, [column.heading for column in table.columns]))
    for row in table.rows:
        sheet.append([write(value) for write, value in zip(writers, row)])

    last = get_column_letter(len(table.columns))
    sheet.auto_filter.ref = f"A1:{last}{len(table.rows) + 1}"


def _prepare_sheet(sheet: WriteOnlyWorksheet, widths: list[float], extra_print_width: float = 0.0) -> None:
    """Set widths, freeze the header row, and print landscape with the header on every page.

    A sheet up to ``PAGE_WIDTH_CHARACTERS`` wide prints one page wide. A wider one is
    spread over as many pages across as keep the text at that scale, instead of
    being shrunk onto one page until it cannot be read. A streaming sheet writes
    these settings with its first row, so this runs before any append.
    """
    set_widths(sheet, widths)
    sheet.freeze_panes = "A2"
    sheet.print_title_rows = "1:1"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = print_pages_wide(sum(widths) + extra_print_width)
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


def print_pages_wide(width: float) -> int:
    """Return the pages across that print ``width`` characters of columns at a readable scale."""
    return max(1, math.ceil(width / PAGE_WIDTH_CHARACTERS))


def _write_summary(sheet: WriteOnlyWorksheet, report: Report) -> None:
    """Write the facts (item, value) in columns A and B and the license positions from column D."""
    facts = _summary_facts(report)
    positions = report.positions

    fact_columns = (Column("item", "Item"), Column("value", "Value"))
    fact_widths = fitted_widths(fact_columns, [(fact.label, _fact_width_value(fact)) for fact in facts])
    _prepare_sheet(sheet, fact_widths + [3.0] + fitted_widths(positions.columns, positions.rows))

    headings = header_cells(sheet, ["Item", "Value"]) + [None]
    headings += header_cells(sheet, [column.heading for column in positions.columns])
    sheet.append(headings)

    position_writers = [cell_writer(sheet, column) for column in positions.columns]
    for index in range(max(len(facts), len(positions.rows))):
        row: list[object] = [None, None, None]
        if index < len(facts):
            row[0] = text_cell(sheet, facts[index].label)
            row[1] = cell_writer(sheet, Column("value", "Value", facts[index].type))(facts[index].value)
        if index < len(positions.rows):
            row += [write(value) for write, value in zip(position_writers, positions.rows[index])]
        sheet.append(row)

    sheet.auto_filter.ref = f"A1:B{len(facts) + 1}"


def _summary_facts(report: Report) -> list[Fact]:
    facts = [Fact("Report", report.title), *report.scan_facts]
    for fact in report.counts:
        facts.append(fact)
        if fact.label == "Not collected":
            for status, count in report.not_collected:
                facts.append(Fact(f"Not collected: {status}", count, ColumnType.INTEGER))
    facts += [Fact(f"Active findings: {severity.value}", count, ColumnType.INTEGER) for severity, count in report.severity_counts]
    facts.append(Fact("Near-limit threshold", report.near_limit_threshold, ColumnType.PERCENT))
    return facts


def _fact_width_value(fact: Fact) -> object:
    if fact.type is ColumnType.DATE:
        return "yyyy-mm-dd hh:mm"
    if fact.type is ColumnType.TEXT:
        return fact.value
    return str(fact.value)


def _write_keys(sheet: WriteOnlyWorksheet, report: Report) -> None:
    table = report.keys
    _write_table(sheet, table)
    if not table.rows:
        return

    # Formula rules read the cells, so the colours follow when someone edits a status, an allotment or a count.
    # The status rules come first: a revoked key used by 2 of 20 hosts is red, not a healthy 10 %.
    status = get_column_letter(table.index("key_status") + 1)
    allotment = get_column_letter(table.index("allotment") + 1)
    activated = get_column_letter(table.index("activated") + 1)
    installed = get_column_letter(table.index("installed_not_activated") + 1)
    threshold = repr(float(report.near_limit_threshold))
    cells = f"A2:{get_column_letter(len(table.columns))}{len(table.rows) + 1}"

    # Excel compares text case-insensitively, so "Revoked" matches too.
    in_use = f"N(${activated}2)+N(${installed}2)>0"
    blocked = f'AND(OR(${status}2="revoked",${status}2="compromised"),{in_use})'
    retired = f'AND(${status}2="retired",{in_use})'
    sheet.conditional_formatting.add(cells, FormulaRule(formula=[blocked], fill=OVER_FILL, stopIfTrue=True))
    sheet.conditional_formatting.add(cells, FormulaRule(formula=[retired], fill=NEAR_FILL, stopIfTrue=True))

    over = f"AND(ISNUMBER(${allotment}2),${activated}2>${allotment}2)"
    near = f"AND(ISNUMBER(${allotment}2),${allotment}2>0,${activated}2>=${allotment}2*{threshold})"
    sheet.conditional_formatting.add(cells, FormulaRule(formula=[over], fill=OVER_FILL, stopIfTrue=True))
    sheet.conditional_formatting.add(cells, FormulaRule(formula=[near], fill=NEAR_FILL, stopIfTrue=True))


def _write_findings(sheet: WriteOnlyWorksheet, table: Table) -> None:
    severity_column = table.index("severity")
    suppressed_column = table.index("suppressed")
    wrapped = [table.index(key) for key in _WRAPPED_FINDING_COLUMNS]
    widths = fitted_widths(table.columns, table.rows)
    _prepare_sheet(sheet, widths)

    writers = [cell_writer(sheet, column, wrap=column.key in _WRAPPED_FINDING_COLUMNS) for column in table.columns]
    sheet.append(header_cells(sheet, [column.heading for column in table.columns]))
    for row_number, row in enumerate(table.rows, start=2):
        # A streaming sheet writes a row's height with the row, so it is set before the append.
        height = wrapped_row_height(row, wrapped, widths)
        if height is not None:
            sheet.row_dimensions[row_number].height = height

        cells = [write(value) for write, value in zip(writers, row)]
        cells[severity_column] = _severity_cell(sheet, row[severity_column], suppressed=row[suppressed_column] == "yes")
        sheet.append(cells)

    sheet.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{len(table.rows) + 1}"


def _severity_cell(sheet: WriteOnlyWorksheet, value: object, suppressed: bool) -> WriteOnlyCell:
    """Fill the severity cell in its colour, or in grey for a suppressed finding, which needs no action."""
    severity = Severity(value)
    cell = WriteOnlyCell(sheet, severity.value)
    if suppressed:
        cell.fill = SUPPRESSED_FILL
        cell.font = SUPPRESSED_FONT
        return cell

    cell.fill = SEVERITY_FILLS[severity]
    if severity in SEVERITY_FONTS:
        cell.font = SEVERITY_FONTS[severity]
    return cell


def _add_usage_chart(summary: WriteOnlyWorksheet, keys: WriteOnlyWorksheet, report: Report) -> None:
    """Add a column chart of activated hosts against the allotment of each key, read from the Keys sheet."""
    table = report.keys
    if not table.rows:
        return

    last_row = len(table.rows) + 1
    chart = BarChart()
    chart.type = "col"
    chart.grouping = "clustered"
    chart.title = "Activated hosts and allotment per key"
    chart.y_axis.title = "Hosts"
    chart.x_axis.title = "Key"

    for key in ("activated", "allotment"):
        column = table.index(key) + 1
        chart.add_data(Reference(keys, min_col=column, min_row=1, max_row=last_row), titles_from_data=True)
    # Without an inventory the key ID column is empty, so the partial keys name the bars.
    category = "key_id" if report.inventory_loaded else "partial_product_key"
    chart.set_categories(Reference(keys, min_col=table.index(category) + 1, min_row=2, max_row=last_row))
    _show_axes(chart)

    chart.width = min(max(16.0, 1.6 * len(table.rows)), 60.0)
    chart.height = 9.0
    anchor_row = len(report.positions.rows) + 3
    summary.add_chart(chart, f"{get_column_letter(_POSITIONS_FIRST_COLUMN)}{anchor_row}")


def _add_history_chart(sheet: WriteOnlyWorksheet, table: Table) -> None:
    """Add a line chart with one series of activated hosts per key over the stored scans."""
    last_row = len(table.rows) + 1
    first_key_column = table.index("started") + 2
    chart = LineChart()
    chart.title = "Activated hosts per key over time"
    chart.y_axis.title = "Activated hosts"
    chart.x_axis.title = "Scan started (UTC)"
    chart.x_axis.number_format = "yyyy-mm-dd"

    data = Reference(sheet, min_col=first_key_column, max_col=len(table.columns), min_row=1, max_row=last_row)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=table.index("started") + 1, min_row=2, max_row=last_row))
    for series in chart.series:
        # A key seen in one scan only is a single point: without a marker it would not show.
        series.marker.symbol = "circle"
        series.marker.size = 6
    _show_axes(chart)

    chart.width = _HISTORY_CHART_WIDTH_CM
    chart.height = 10.0
    sheet.add_chart(chart, f"{get_column_letter(len(table.columns) + 2)}2")


def _show_axes(chart: BarChart | LineChart) -> None:
    # openpyxl 3.1 leaves the axis "delete" flag unset, which recent Excel builds read as hidden axes.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
