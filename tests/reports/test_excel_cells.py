"""The cell layer of the workbook: text cleaning, formula guards, remembered texts and column widths."""

from __future__ import annotations

from datetime import datetime

import openpyxl
import pytest
from openpyxl import Workbook
from openpyxl.cell.cell import ERROR_CODES, Cell

from makaudit.model import HostResult, HostStatus
from makaudit.reports.excel import write_xlsx
from makaudit.reports.excel_cells import (
    MAX_CELL_CHARACTERS,
    MAX_WIDTH,
    MIN_WIDTH,
    cell_writer,
    clean_text,
    fitted_widths,
    is_formula_like,
)
from makaudit.reports.formatting import clean_text as clean_shown_text
from makaudit.reports.model import Column, ColumnType, build_report
from report_samples import make_result


@pytest.fixture
def sheet():
    return Workbook(write_only=True).create_sheet("Cells")


@pytest.mark.parametrize(
    "text",
    ["corp.example", "line one\nline two", "tab\tand\rreturn", "no\u00a0break", "", "Windows® 11 – Pro"],
)
def test_clean_text_keeps_legal_text(text):
    assert clean_text(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [("a\x00b", "ab"), ("\x1b[31mred", "[31mred"), ("\x0bvertical\x0c", "vertical"), ("x\x08\x1f", "x")],
)
def test_clean_text_removes_control_characters(text, expected):
    assert clean_text(text) == expected


def test_clean_text_cuts_printable_text():
    assert clean_text("a" * (MAX_CELL_CHARACTERS + 10)) == "a" * MAX_CELL_CHARACTERS


def test_clean_text_cuts_after_removing():
    text = "\x00" * 5 + "b" * (MAX_CELL_CHARACTERS + 1)
    assert clean_text(text) == "b" * MAX_CELL_CHARACTERS


@pytest.mark.parametrize(
    ("text", "expected"),
    [("line\nbreak\ttab", "line\nbreak\ttab"), ("del\x7f", "del"), ("bell\x07", "bell"), ("no\u00a0break", "no\u00a0break")],
)
def test_shown_text_cleaning(text, expected):
    assert clean_shown_text(text) == expected


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", *ERROR_CODES])
def test_formula_like_text(text):
    assert is_formula_like(text)


@pytest.mark.parametrize("text", ["a=b", "#HASHTAG", "#n/a", "PC-0001", ""])
def test_plain_text_not_formula_like(text):
    assert not is_formula_like(text)


def test_text_writer_repeats_plain_text(sheet):
    write = cell_writer(sheet, Column("domain", "Domain"))
    assert write("corp.example") == "corp.example"
    assert write("corp.example") == "corp.example"
    assert write("bad\x00name") == "badname"
    assert write("bad\x00name") == "badname"
    assert write(None) is None


def test_text_writer_formula_gets_new_cells(sheet):
    write = cell_writer(sheet, Column("error", "Error"))
    first = write("=1+1")
    second = write("=1+1")

    assert isinstance(first, Cell)
    assert isinstance(second, Cell)
    assert first is not second
    assert first.data_type == "s"
    assert second.quotePrefix


def test_text_writer_converts_numbers(sheet):
    write = cell_writer(sheet, Column("name", "Name"))
    assert write(1234) == "1234"
    assert write(-5) is not None
    assert write(-5).quotePrefix


def test_text_writer_past_memory_limit(sheet):
    write = cell_writer(sheet, Column("target", "Target"))
    values = [f"pc-{index:05d}\x00" for index in range(12_000)]

    written = [write(value) for value in values]
    again = [write(value) for value in values[-3:]]

    assert written[0] == "pc-00000"
    assert written[-1] == "pc-11999"
    assert again == ["pc-11997", "pc-11998", "pc-11999"]


def test_date_writer_rejects_text(sheet):
    write = cell_writer(sheet, Column("collected", "Collected", ColumnType.DATE))
    with pytest.raises(TypeError, match="'Collected' contains dates"):
        write("2026-12-04")


def test_widths_from_longest_value():
    columns = (Column("target", "Target"), Column("count", "Count", ColumnType.INTEGER))
    rows = [("pc-1", 5), ("a-much-longer-target-name", 1_234_567), ("pc-1", None)] * 1_000

    widths = fitted_widths(columns, rows)

    assert widths == [float(len("a-much-longer-target-name") + 1), float(len("1,234,567") + 1)]


def test_widths_integer_separators():
    columns = (Column("n", "N", ColumnType.INTEGER),)
    assert fitted_widths(columns, [(12_345_678_901,)]) == [float(len("12,345,678,901") + 1)]


def test_widths_longest_line_counts():
    columns = (Column("message", "Message"),)
    rows = [("short\n" + "x" * 20 + "\nend",)]
    assert fitted_widths(columns, rows) == [21.0]


def test_widths_empty_and_capped():
    columns = (Column("a", "A"), Column("long", "Long"), Column("when", "When", ColumnType.DATE))
    rows = [(None, "y" * 500, datetime(2026, 12, 4))]

    widths = fitted_widths(columns, rows)

    assert widths[0] == float(MIN_WIDTH)
    assert widths[1] == float(MAX_WIDTH)
    assert widths[2] == 18.0
    assert fitted_widths(columns, []) == [float(MIN_WIDTH), 8.0, 18.0]


def test_repeated_formula_rows_stay_text(tmp_path):
    hosts = tuple(HostResult(target=f"pc-{index}", status=HostStatus.ERROR, error="=1+1") for index in range(4))
    path = tmp_path / "repeated.xlsx"
    write_xlsx(build_report(make_result(hosts=hosts, trends=())), path)

    cells = [row[2] for row in openpyxl.load_workbook(path)["Unreachable"].iter_rows(min_row=2)]
    assert len(cells) == 4
    assert all(cell.value == "=1+1" for cell in cells)
    assert all(cell.data_type == "s" for cell in cells)
    assert all(cell.quotePrefix for cell in cells)
