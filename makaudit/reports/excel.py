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
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

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
        _write_table(history, report.history)
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


def _write_table(sheet: WriteOnlyWorksheet, table: Table, wrapped: Sequence[str] = ()) -> None:
    """Write a header row and the table's rows, with widths, a frozen header and an autofilter."""
    _prepare_sheet(sheet, fitted_widths(table.columns, table.rows))

    writers = [cell_writer(sheet, column, wrap=column.key in wrapped) for column in table.columns]
    sheet.append(header_cells(sheet, [column.heading for column in table.columns]))
    for row in table.rows:
        sheet.append([write(value) for write, value in zip(writers, row)])

    last = get_column_letter(len(table.columns))
    sheet.auto_filter.ref = f"A1:{last}{len(table.rows) + 1}"


def _prepare_sheet(sheet: WriteOnlyWorksheet, widths: list[float]) -> None:
    """Set widths, freeze the header row, and print landscape, one page wide, with the header on every page.

    A streaming sheet writes these settings with its first row, so this runs before any append.
    """
    set_widths(sheet, widths)
    sheet.freeze_panes = "A2"
    sheet.print_title_rows = "1:1"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


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

    # Formula rules read the cells, so the colours follow when someone edits an allotment or a count.
    allotment = get_column_letter(table.index("allotment") + 1)
    activated = get_column_letter(table.index("activated") + 1)
    threshold = repr(float(report.near_limit_threshold))
    cells = f"A2:{get_column_letter(len(table.columns))}{len(table.rows) + 1}"

    over = f"AND(ISNUMBER(${allotment}2),${activated}2>${allotment}2)"
    near = f"AND(ISNUMBER(${allotment}2),${allotment}2>0,${activated}2>=${allotment}2*{threshold})"
    sheet.conditional_formatting.add(cells, FormulaRule(formula=[over], fill=OVER_FILL, stopIfTrue=True))
    sheet.conditional_formatting.add(cells, FormulaRule(formula=[near], fill=NEAR_FILL, stopIfTrue=True))


def _write_findings(sheet: WriteOnlyWorksheet, table: Table) -> None:
    severity_column = table.index("severity")
    suppressed_column = table.index("suppressed")
    _prepare_sheet(sheet, fitted_widths(table.columns, table.rows))

    writers = [cell_writer(sheet, column, wrap=column.key in _WRAPPED_FINDING_COLUMNS) for column in table.columns]
    sheet.append(header_cells(sheet, [column.heading for column in table.columns]))
    for row in table.rows:
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

    chart.width = 24.0
    chart.height = 10.0
    sheet.add_chart(chart, f"{get_column_letter(len(table.columns) + 2)}2")


def _show_axes(chart: BarChart | LineChart) -> None:
    # openpyxl 3.1 leaves the axis "delete" flag unset, which recent Excel builds read as hidden axes.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
