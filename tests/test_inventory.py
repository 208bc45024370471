"""Reading and validating the MAK inventory CSV, as Excel writes it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from makaudit.errors import InventoryError
from makaudit.inventory import KeyStatus, check_inventory, load_inventory, parse_inventory_date

HEADER = "key_id,product,partial_product_key,allotment,entitlement,acquired,rotate_by,status,custodian,agreement,notes"
GOOD_ROW = "WIN-ENT-MAK-A,Windows 11 Enterprise,7QJ2K,150,150,2024-01-15,2027-01-15,active,Desktop team,EA 1234,"
FULL_KEY = "NPPR9-FWDCX-D2C8J-H872K-2YT43"
EXAMPLE = Path(__file__).resolve().parents[1] / "inventory.example.csv"


def write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "inventory.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def problems_of(tmp_path: Path, *rows: str, header: str = HEADER) -> list:
    return check_inventory(write(tmp_path, "\n".join([header, *rows]) + "\n"))


def test_example_inventory_loads():
    stock = load_inventory(EXAMPLE)

    assert len(stock.keys) >= 3
    assert all(len(item.partial_product_key) == 5 for item in stock.keys)


def test_valid_row_is_read(tmp_path):
    stock = load_inventory(write(tmp_path, HEADER + "\n" + GOOD_ROW + "\n"))

    (item,) = stock.keys
    assert item.key_id == "WIN-ENT-MAK-A"
    assert item.allotment == 150
    assert item.entitlement == 150
    assert item.acquired == date(2024, 1, 15)
    assert item.rotate_by == date(2027, 1, 15)
    assert item.status is KeyStatus.ACTIVE
    assert item.custodian == "Desktop team"
    assert item.notes is None
    assert item.line == 2
    assert stock.find("7qj2k") is item
    assert stock.find("BBBBB") is None


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", ""), ("utf-8", "\ufeff"), ("cp1252", ""), ("utf-16", "")],
)
def test_encodings_excel_writes(tmp_path, encoding, prefix):
    row = GOOD_ROW.replace("Desktop team", "Müller & Søn")
    path = write(tmp_path, prefix + HEADER + "\r\n" + row + "\r\n", encoding)

    (item,) = load_inventory(path).keys

    assert item.custodian == "Müller & Søn"


def test_semicolon_delimiter_and_header_case(tmp_path):
    header = " Key_ID ; PRODUCT;Partial Product Key;Allotment;Status"
    path = write(tmp_path, header + "\nK1;Office LTSC 2024;bbbbb;50;Retired\n")

    (item,) = load_inventory(path).keys

    assert (item.key_id, item.partial_product_key, item.allotment, item.status) == ("K1", "BBBBB", 50, KeyStatus.RETIRED)


def test_excel_sep_line(tmp_path):
    path = write(tmp_path, "sep=;\nkey_id;product;partial_product_key;allotment;status\nK1;P;BBBBB;5;active\n")

    (item,) = load_inventory(path).keys

    assert item.line == 3


def test_blank_rows_are_skipped_and_lines_stay_physical(tmp_path):
    problems = problems_of(tmp_path, GOOD_ROW, ",,,,,,,,,,", "", 'K2,"multi\nline product",BBBBB,x,,,,active,,,')

    assert [(problem.line, problem.column) for problem in problems] == [(5, "allotment")]


def test_dotted_date_accepted():
    assert parse_inventory_date("31.12.2024") == date(2024, 12, 31)


@pytest.mark.parametrize(
    ("row", "column", "fragment"),
    [
        (GOOD_ROW.replace(",7QJ2K,", ",7QJ2,"), "partial_product_key", "exactly the last five characters"),
        (GOOD_ROW.replace(",7QJ2K,", ",7QJ2A,"), "partial_product_key", "alphabet has no A; "),
        (GOOD_ROW.replace(",7QJ2K,", ",7QJ2A,"), "partial_product_key", "BCDFGHJKMNPQRTVWXY2346789"),
        (GOOD_ROW.replace(",7QJ2K,", ",7OJ2I,"), "partial_product_key", "alphabet has no I, O; "),
        (GOOD_ROW.replace(",7QJ2K,", ",,"), "partial_product_key", "is empty"),
        (GOOD_ROW.replace(",150,150,", ",-1,150,"), "allotment", "negative number '-1'; enter 0 or more"),
        (GOOD_ROW.replace(",150,150,", ",1.5,150,"), "allotment", "whole number"),
        (GOOD_ROW.replace(",150,150,", ",150,many,"), "entitlement", "invalid number 'many'"),
        (GOOD_ROW.replace(",150,150,", ",,150,"), "allotment", "is empty"),
        (GOOD_ROW.replace(",active,", ",expired,"), "status", "enter one of active, retired, revoked, compromised"),
        (GOOD_ROW.replace("2024-01-15", "15/01/2024"), "acquired", "ambiguous"),
        (GOOD_ROW.replace("2024-01-15", "2024-02-30"), "acquired", "no such day"),
        (GOOD_ROW.replace("2027-01-15", "next year"), "rotate_by", "YYYY-MM-DD"),
        (GOOD_ROW.replace("WIN-ENT-MAK-A", ""), "key_id", "is empty"),
        (GOOD_ROW.replace("Windows 11 Enterprise", ""), "product", "is empty"),
    ],
)
def test_invalid_cell_messages(tmp_path, row, column, fragment):
    problems = problems_of(tmp_path, row)

    assert len(problems) == 1
    assert problems[0].line == 2
    assert problems[0].column == column
    assert fragment in problems[0].message


@pytest.mark.parametrize(
    ("header", "column", "fragment"),
    [
        (HEADER.replace("allotment,", ""), "allotment", "required column is missing"),
        (HEADER.replace("status,", ""), "status", "required column is missing"),
        (HEADER + ",cost_center", "cost_center", "unknown column"),
        (HEADER + ",notes", "notes", "appears twice"),
    ],
)
def test_header_problems(tmp_path, header, column, fragment):
    problems = check_inventory(write(tmp_path, header + "\n"))

    assert [(problem.line, problem.column) for problem in problems] == [(None, column)]
    assert fragment in problems[0].message


def test_duplicates_name_the_first_line(tmp_path):
    problems = problems_of(tmp_path, GOOD_ROW, GOOD_ROW.replace("WIN-ENT-MAK-A", "win-ent-mak-a"))

    assert [(problem.line, problem.column) for problem in problems] == [(3, "key_id"), (3, "partial_product_key")]
    assert all("line 2" in problem.message for problem in problems)


def test_duplicate_reported_even_when_row_has_other_problems(tmp_path):
    problems = problems_of(tmp_path, GOOD_ROW, GOOD_ROW.replace(",150,150,", ",x,150,"))

    assert {(problem.line, problem.column) for problem in problems} == {(3, "allotment"), (3, "key_id"), (3, "partial_product_key")}


@pytest.mark.parametrize(
    ("cell_text", "column"),
    [
        (FULL_KEY, "notes"),
        (FULL_KEY.replace("-", ""), "notes"),
        (FULL_KEY.lower(), "notes"),
        (f"old key was {FULL_KEY} (replaced)", "notes"),
        (FULL_KEY.replace("-", " "), "notes"),
        (FULL_KEY.replace("-", "\u2013"), "notes"),
        (FULL_KEY.replace("-", "\u2014"), "notes"),
        (f"typed as {FULL_KEY.replace('-', ' ').lower()} by hand", "notes"),
        (FULL_KEY, "custodian"),
        (FULL_KEY.replace("-", " "), "agreement"),
    ],
)
def test_full_key_in_any_cell_is_rejected_without_echo(tmp_path, cell_text, column):
    cells = {"notes": "", "custodian": "Desktop team", "agreement": "EA 1234"}
    row = GOOD_ROW.replace(f",{cells[column]},", f',"{cell_text}",') if column != "notes" else GOOD_ROW + f'"{cell_text}"'
    path = write(tmp_path, HEADER + "\n" + row + "\n")

    with pytest.raises(InventoryError) as caught:
        load_inventory(path)

    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == (2, column)
    assert "last five characters, 2YT43" in problem.message
    text = str(caught.value)
    assert FULL_KEY.replace("-", "")[:20] not in text.upper().replace("-", "")
    assert "NPPR9" not in text.upper()


def test_full_key_in_partial_key_column(tmp_path):
    problems = problems_of(tmp_path, GOOD_ROW.replace(",7QJ2K,", f",{FULL_KEY},"))

    assert [(problem.line, problem.column) for problem in problems] == [(2, "partial_product_key")]
    assert "NPPR9" not in problems[0].message


def test_full_key_in_header(tmp_path):
    problems = check_inventory(write(tmp_path, HEADER + "," + FULL_KEY + "\n"))

    assert len(problems) == 1
    assert "NPPR9" not in str(problems[0])


def test_several_problems_reported_at_once(tmp_path):
    rows = [
        GOOD_ROW,
        GOOD_ROW.replace("WIN-ENT-MAK-A", "B").replace(",7QJ2K,", ",BBBB,"),
        GOOD_ROW.replace("WIN-ENT-MAK-A", "C").replace(",7QJ2K,", ",CCCCC,").replace(",active,", ",?,"),
        GOOD_ROW.replace("WIN-ENT-MAK-A", "D").replace(",7QJ2K,", ",DDDDD,") + FULL_KEY,
    ]
    path = write(tmp_path, "\n".join([HEADER.replace(",custodian", ",owner"), *rows]) + "\n")

    with pytest.raises(InventoryError) as caught:
        load_inventory(path)

    located = [(problem.line, problem.column) for problem in caught.value.problems]
    assert located == [(None, "owner"), (3, "partial_product_key"), (4, "status"), (5, "notes")]
    assert "4 problem(s)" in str(caught.value)


def test_extra_cells_are_a_problem(tmp_path):
    problems = problems_of(tmp_path, GOOD_ROW + ",surplus")

    assert [(problem.line, problem.column) for problem in problems] == [(2, None)]
    assert "quote cells" in problems[0].message


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(b"", "is empty"), (b"\x81\x8d\x8f\x90\x9d", "neither UTF-8 nor Windows-1252")],
)
def test_unreadable_files(tmp_path, content, fragment):
    path = tmp_path / "inventory.csv"
    path.write_bytes(content)

    with pytest.raises(InventoryError) as caught:
        load_inventory(path)

    assert fragment in str(caught.value)


def test_missing_file(tmp_path):
    problems = check_inventory(tmp_path / "absent.csv")

    assert "not found" in problems[0].message


def test_header_only_is_an_empty_inventory(tmp_path):
    assert load_inventory(write(tmp_path, HEADER + "\n")).keys == ()


@pytest.mark.parametrize(
    "written",
    [
        "ABCDE-FGHJK-MNPQR-TVWXY-2346B",
        "ABCDE FGHJK MNPQR TVWXY 2346B",
        "ABCDE\u2013FGHJK\u2013MNPQR\u2013TVWXY\u20132346B",
        "BCDFGHJKMNPQRTVWXY2346B7Q",
    ],
)
@pytest.mark.parametrize("column", ["partial_product_key", "notes"])
def test_key_shapes_rejected_in_any_cell(tmp_path, written, column):
    row = GOOD_ROW.replace(",7QJ2K,", f",{written},") if column == "partial_product_key" else GOOD_ROW + written

    problems = problems_of(tmp_path, row)

    assert [(problem.line, problem.column) for problem in problems] == [(2, column)]
    message = str(problems[0])
    assert "full 25-character product key" in message
    assert f"ending in {written[-5:]}" in message
    assert written[:10] not in message
    assert written[:5] not in message


def test_long_partial_key_not_echoed(tmp_path):
    written = "ABCDE_FGHJK_MNPQR_TVWXY_2346B"

    problems = problems_of(tmp_path, GOOD_ROW.replace(",7QJ2K,", f",{written},"))

    assert [(problem.line, problem.column) for problem in problems] == [(2, "partial_product_key")]
    assert problems[0].message == (
        "is not a partial product key: it has 29 characters (ending in 2346B); "
        "keep only the last five characters of the key"
    )


def test_short_partial_key_message(tmp_path):
    problems = problems_of(tmp_path, GOOD_ROW.replace(",7QJ2K,", ",7QJ2,"))

    assert problems[0].message.startswith("is not a partial product key: it has 4 characters ('7QJ2')")


@pytest.mark.parametrize("partial", ["2YN43", "n7qj2", "NNNNN"])
def test_partial_key_with_n_accepted(tmp_path, partial):
    (item,) = load_inventory(write(tmp_path, HEADER + "\n" + GOOD_ROW.replace(",7QJ2K,", f",{partial},") + "\n")).keys

    assert item.partial_product_key == partial.upper()


def test_ids_in_notes_accepted(tmp_path):
    notes = (
        "ProductID 00330-80000-00000-AA946; ApplicationID 55c92734-d682-4d71-983e-d6ec3f16059f; "
        "extended PID 03612-03311-000-000001-03-1033-26200.0000-2232026; "
        "installation ID 245572112661545759834448712380518432897778014680406029450286423"
    )

    (item,) = load_inventory(write(tmp_path, HEADER + "\n" + GOOD_ROW + f'"{notes}"\n')).keys

    assert item.notes == notes


def test_missing_file_message(tmp_path):
    (problem,) = check_inventory(tmp_path / "absent.csv")

    assert problem.message == "file not found; check the path"
