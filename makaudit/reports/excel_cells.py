"""Typed, safe worksheet cells for the streaming (write-only) workbook.

Endpoint strings are untrusted. A string that a spreadsheet would read as a
formula (leading ``=``, ``+``, ``-``, ``@``, tab or carriage return) or as an
error code is written as an inline string with the quote prefix set, so that
Excel and LibreOffice show it literally, even after someone edits the cell.
Control characters that the XLSX format cannot hold are removed.
"""

from __future__ import annotations

from datetime import datetime
from operator import itemgetter
from typing import Callable, Sequence

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from makaudit.reports.model import CellValue, Column, ColumnType, to_naive_utc

DATE_FORMAT = "yyyy-mm-dd hh:mm"
PERCENT_FORMAT = "0.0%"
INTEGER_FORMAT = "#,##0"
DECIMAL_FORMAT = "#,##0.0"

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
MAX_CELL_CHARACTERS = 32767
"""Maximum number of characters in an Excel cell."""

_ERROR_CODES = frozenset(ERROR_CODES)
_MAX_REMEMBERED_TEXTS = 10_000
"""The maximum number of distinct plain strings one text column remembers. A column of unique values, such as targets, stops adding there."""

MIN_WIDTH = 6
MAX_WIDTH = 60
_DATE_WIDTH = 17
_PERCENT_WIDTH = 9
_FILTER_BUTTON_WIDTH = 3

HEADER_FONT = Font(name="Calibri", bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", start_color="305496")
WRAP = Alignment(wrap_text=True, vertical="top")

CellWriter = Callable[[CellValue], object]


def clean_text(value: str) -> str:
    """Remove the control characters XLSX cannot store and cut the text to the cell limit."""
    # Every character XLSX rejects is a C0 control character, which str.isprintable()
    # reports as unprintable, so printable text of a legal length skips the regular expression.
    if value.isprintable() and len(value) <= MAX_CELL_CHARACTERS:
        return value
    return ILLEGAL_CHARACTERS_RE.sub("", value)[:MAX_CELL_CHARACTERS]


def is_formula_like(text: str) -> bool:
    """Return True when a spreadsheet would read ``text`` as a formula or an error code."""
    return text.startswith(FORMULA_PREFIXES) or text in _ERROR_CODES


def text_cell(sheet: WriteOnlyWorksheet, value: object) -> object:
    """Return ``value`` as text that is stored literally: a plain str, or a cell forced to the string type."""
    text = clean_text(value if isinstance(value, str) else str(value))
    if not is_formula_like(text):
        return text

    cell = WriteOnlyCell(sheet, text)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def header_cells(sheet: WriteOnlyWorksheet, headings: Sequence[str]) -> list[object]:
    cells = []
    for heading in headings:
        cell = WriteOnlyCell(sheet, clean_text(heading))
        cell.data_type = "s"
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cells.append(cell)
    return cells


def cell_writer(sheet: WriteOnlyWorksheet, column: Column, wrap: bool = False) -> CellWriter:
    """Return the function that turns one value of ``column`` into what ``sheet.append`` takes."""

    def styled(value: object, number_format: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(sheet, value)
        cell.number_format = number_format
        return cell

    def write_text(value: CellValue) -> object:
        if value is None:
            return None
        if not wrap:
            return literal_text(value)
        cell = WriteOnlyCell(sheet, clean_text(str(value)))
        cell.data_type = "s"
        cell.quotePrefix = is_formula_like(cell.value)
        cell.alignment = WRAP
        return cell

    def write_integer(value: CellValue) -> object:
        return None if value is None else styled(value, INTEGER_FORMAT)

    def write_decimal(value: CellValue) -> object:
        return None if value is None else styled(value, DECIMAL_FORMAT)

    def write_percent(value: CellValue) -> object:
        return None if value is None else styled(value, PERCENT_FORMAT)

    def write_date(value: CellValue) -> object:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"column {column.heading!r} contains dates, but got {value!r}")
        return styled(to_naive_utc(value), DATE_FORMAT)

    literal_text = _RememberedTexts(sheet)
    writers = {
        ColumnType.TEXT: write_text,
        ColumnType.INTEGER: write_integer,
        ColumnType.DECIMAL: write_decimal,
        ColumnType.PERCENT: write_percent,
        ColumnType.DATE: write_date,
    }
    return writers[column.type]


class _RememberedTexts:
    """A ``text_cell`` for one column that remembers the plain strings it returned.

    Fleet columns repeat a few values (domain, product, license status) over
    many rows, so each distinct string is cleaned and checked once. Formula-like
    text is not remembered: it becomes a new cell on every row.
    """

    def __init__(self, sheet: WriteOnlyWorksheet) -> None:
        self._sheet = sheet
        self._plain: dict[str, str] = {}

    def __call__(self, value: CellValue) -> object:
        plain = self._plain.get(value) if type(value) is str else None
        if plain is not None:
            return plain

        result = text_cell(self._sheet, value)
        if type(value) is str and type(result) is str and len(self._plain) < _MAX_REMEMBERED_TEXTS:
            self._plain[value] = result
        return result


def fitted_widths(columns: Sequence[Column], rows: Sequence[Sequence[CellValue]]) -> list[float]:
    """Return a column width per column: the longest shown value, within ``MIN_WIDTH`` and ``MAX_WIDTH``."""
    widths = []
    for position, column in enumerate(columns):
        longest = len(column.heading) + _FILTER_BUTTON_WIDTH
        if column.type is ColumnType.DATE:
            longest = max(longest, _DATE_WIDTH)
        elif column.type is ColumnType.PERCENT:
            longest = max(longest, _PERCENT_WIDTH)
        else:
            # Measuring each distinct value once keeps this cheap on columns that repeat a
            # few values over 100,000 rows. An int and an equal float count once, as the
            # first one seen, so their widths may differ by the ".0" at most.
            distinct = set(map(itemgetter(position), rows))
            distinct.discard(None)
            measure = _NUMBER_WIDTHS.get(column.type, _text_width)
            longest = max([longest, *map(measure, distinct)])
        widths.append(float(min(max(longest + 1, MIN_WIDTH), MAX_WIDTH)))
    return widths


def _integer_width(value: CellValue) -> int:
    return len(f"{value:,}")


def _decimal_width(value: CellValue) -> int:
    return len(f"{value:,.1f}")


_NUMBER_WIDTHS = {ColumnType.INTEGER: _integer_width, ColumnType.DECIMAL: _decimal_width}


def _text_width(value: CellValue) -> int:
    text = value if isinstance(value, str) else str(value)
    if "\n" in text:
        return max(len(line) for line in text.split("\n"))
    return len(text)


LINE_HEIGHT = 15.0
"""Height in points of one line of 11-point Calibri, Excel's default row height."""
MAX_ROW_HEIGHT = 409.0
"""The tallest row Excel allows, in points."""


def wrapped_line_count(value: CellValue, width: float) -> int:
    """Estimate the lines a wrapped cell of ``width`` characters needs for ``value``.

    The estimate counts characters, not rendered glyphs. Each line takes about
    ``width - 1`` characters of the default font, and a line feed starts a new line.
    """
    if value is None:
        return 1
    text = value if isinstance(value, str) else str(value)
    per_line = max(int(width) - 1, 1)
    return sum(max(1, -(-len(line) // per_line)) for line in text.split("\n"))


def wrapped_row_height(row: Sequence[CellValue], wrapped: Sequence[int], widths: Sequence[float]) -> float | None:
    """Return the row height in points that shows every wrapped cell of ``row``; None when one line is enough.

    Excel grows a row for wrapped text when it opens the file, but LibreOffice keeps the
    default height when printing, so wrapped text then overlaps the rows below.
    """
    lines = max((wrapped_line_count(row[position], widths[position]) for position in wrapped), default=1)
    if lines <= 1:
        return None
    return min(lines * LINE_HEIGHT, MAX_ROW_HEIGHT)


def set_widths(sheet: WriteOnlyWorksheet, widths: Sequence[float], first_column: int = 1) -> None:
    """Set column widths; a streaming sheet takes them only before its first row."""
    for offset, width in enumerate(widths):
        sheet.column_dimensions[get_column_letter(first_column + offset)].width = width
