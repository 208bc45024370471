"""The MAK inventory: a CSV with one row per Multiple Activation Key the organisation owns.

The file is read the way Excel writes CSV: UTF-8 with or without a byte order
mark, Windows-1252 when the bytes are not valid UTF-8, or UTF-16 with a byte
order mark; ``,``, ``;`` or tab as the delimiter (taken from the header line, or
from an Excel ``sep=`` first line). Header names match case-insensitively, with
surrounding spaces ignored and inner spaces or hyphens read as ``_``.

Validation collects every problem of the file at once, each with its physical
line number (the header is line 1), the column and the fix. A full 25-character
product key in any cell, in any form :mod:`makaudit.productkey` detects, is
rejected without being echoed: only its last five characters appear in
messages, and the same holds for an invalid partial_product_key.
"""

from __future__ import annotations

import codecs
import csv
import enum
import io
import logging
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from makaudit.errors import InventoryError, InventoryProblem
from makaudit.productkey import KEY_ALPHABET, PARTIAL_KEY_LENGTH, find_full_keys, is_partial_key, last_five

logger = logging.getLogger(__name__)

PRODUCT_KEY_ALPHABET = KEY_ALPHABET
"""Characters a partial product key may contain, the same as :data:`makaudit.productkey.KEY_ALPHABET`."""

REQUIRED_COLUMNS = ("key_id", "product", "partial_product_key", "allotment", "status")
OPTIONAL_COLUMNS = ("entitlement", "acquired", "rotate_by", "custodian", "agreement", "notes")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DOTTED_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_SLASHED_DATE = re.compile(r"\d{1,4}/\d{1,2}/\d{1,4}")
_ECHO_LIMIT = 40


class KeyStatus(enum.StrEnum):
    """Lifecycle status of a MAK in the inventory."""

    ACTIVE = "active"
    RETIRED = "retired"
    """Being replaced: hosts still using it have not finished the rotation."""
    REVOKED = "revoked"
    """Blocked by Microsoft or withdrawn by the organisation: no host may use it."""
    COMPROMISED = "compromised"
    """Leaked: treated like a revoked key."""


@dataclass(frozen=True)
class InventoryKey:
    """One MAK of the inventory. Only the last five characters of the key are known."""

    key_id: str
    product: str
    partial_product_key: str
    """Last five characters of the MAK, upper case."""
    allotment: int
    """Activations Microsoft allows for this MAK."""
    status: KeyStatus
    entitlement: int | None = None
    """Licenses owned for the product under this key, when recorded."""
    acquired: date | None = None
    rotate_by: date | None = None
    custodian: str | None = None
    agreement: str | None = None
    notes: str | None = None
    line: int | None = None
    """Physical line of the CSV this key was read from."""


@dataclass(frozen=True)
class Inventory:
    """The keys of an inventory file, with lookup by partial product key."""

    keys: tuple[InventoryKey, ...]
    source: Path | None = None
    _by_partial_key: dict[str, InventoryKey] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        lookup: dict[str, InventoryKey] = {}
        for key in self.keys:
            partial = key.partial_product_key.upper()
            if partial in lookup:
                raise ValueError(
                    f"keys {lookup[partial].key_id!r} and {key.key_id!r} share the partial product key {partial}"
                )
            lookup[partial] = key
        object.__setattr__(self, "_by_partial_key", lookup)

    def find(self, partial_product_key: str) -> InventoryKey | None:
        """Return the key whose last five characters are ``partial_product_key`` (any case), or None."""
        return self._by_partial_key.get(partial_product_key.strip().upper())

    def __len__(self) -> int:
        return len(self.keys)


def load_inventory(path: Path) -> Inventory:
    """Read and validate the inventory CSV at ``path``.

    Raises InventoryError listing every problem when the file is unreadable or invalid.
    """
    keys, problems = _read_inventory(path)
    if problems:
        raise InventoryError(str(path), problems)

    logger.info("loaded %d MAK(s) from inventory %s", len(keys), path)
    return Inventory(keys=tuple(keys), source=path)


def check_inventory(path: Path) -> list[InventoryProblem]:
    """Return every problem of the inventory CSV at ``path``; an empty list means it is valid."""
    _keys, problems = _read_inventory(path)
    return problems


def _read_inventory(path: Path) -> tuple[list[InventoryKey], list[InventoryProblem]]:
    try:
        text = _decode(path.read_bytes(), path)
    except FileNotFoundError:
        return [], [InventoryProblem(None, None, "file not found; check the path")]
    except IsADirectoryError:
        return [], [InventoryProblem(None, None, "is a folder; give the path of the inventory CSV file")]
    except OSError as error:
        return [], [InventoryProblem(None, None, f"cannot be read ({error.strerror}); check its permissions")]
    except UnicodeDecodeError:
        return [], [
            InventoryProblem(
                None, None, "is neither UTF-8 nor Windows-1252 text; save it from Excel as 'CSV UTF-8'"
            )
        ]

    rows = _split_rows(text)
    if not rows:
        return [], [InventoryProblem(None, None, "is empty; it needs a header line with the columns " + ", ".join(COLUMNS))]

    header_line, header_cells = rows[0]
    columns, problems = _check_header(header_cells, header_line)
    keys: list[InventoryKey] = []
    seen_ids: dict[str, int] = {}
    seen_partials: dict[str, int] = {}

    for line, cells in rows[1:]:
        row = _read_row(line, cells, columns, len(header_cells))
        problems += row.problems
        problems += _check_duplicates(row, line, seen_ids, seen_partials)
        if row.key is not None:
            keys.append(row.key)

    return keys, problems


def _decode(data: bytes, path: Path) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        logger.info("inventory %s is not valid UTF-8; reading it as Windows-1252", path)
        return data.decode("cp1252")


def _split_rows(text: str) -> list[tuple[int, list[str]]]:
    """Return the non-blank CSV records with the physical line each starts on (1-based)."""
    lines = text.splitlines(keepends=True)
    first_line = 1
    delimiter = None

    if lines and re.fullmatch(r"sep=(.)\r?\n?", lines[0]):
        delimiter = lines[0][4]
        lines = lines[1:]
        first_line = 2
    if delimiter is None:
        header = next((line for line in lines if line.strip()), "")
        delimiter = max((",", ";", "\t"), key=header.count)

    reader = csv.reader(io.StringIO("".join(lines), newline=""), delimiter=delimiter)
    rows = []
    previous_line_count = 0
    for cells in reader:
        start = first_line + previous_line_count
        previous_line_count = reader.line_num
        if any(cell.strip() for cell in cells):
            rows.append((start, cells))
    return rows


def _normalize_header(name: str) -> str:
    return re.sub(r"[\s-]+", "_", name.strip().lower())


def _check_header(cells: list[str], line: int) -> tuple[dict[str, int], list[InventoryProblem]]:
    """Map each known column to its cell index, and list missing, unknown and repeated columns."""
    columns: dict[str, int] = {}
    problems: list[InventoryProblem] = []

    for index, cell in enumerate(cells):
        full_keys = find_full_keys(cell)
        if full_keys:
            problems.append(InventoryProblem(None, None, _full_key_message(full_keys[0])))
            continue

        name = _normalize_header(cell)
        if not name:
            problems.append(
                InventoryProblem(None, None, f"column {index + 1} has no name; name it or delete the empty column")
            )
        elif name in columns:
            problems.append(
                InventoryProblem(None, name, "the column appears twice; keep one and delete the other")
            )
        elif name not in COLUMNS:
            problems.append(
                InventoryProblem(
                    None,
                    cell.strip(),
                    "unknown column; rename it to one of " + ", ".join(COLUMNS)
                    + " or delete it (free text belongs in notes)",
                )
            )
        else:
            columns[name] = index

    for name in REQUIRED_COLUMNS:
        if name not in columns:
            problems.append(
                InventoryProblem(None, name, f"required column is missing; add a column named {name} to line {line}")
            )
    return columns, problems


@dataclass
class _Row:
    """A data row after validation: its key when valid, its problems, and the identifiers it carries."""

    key: InventoryKey | None
    problems: list[InventoryProblem]
    key_id: str | None
    partial_product_key: str | None


def _read_row(line: int, cells: list[str], columns: dict[str, int], header_width: int) -> _Row:
    """Validate one data row; the row's key is None when the row has a problem."""
    problems: list[InventoryProblem] = []

    if len(cells) > header_width and any(cell.strip() for cell in cells[header_width:]):
        problems.append(
            InventoryProblem(
                line,
                None,
                f"has {len(cells)} cells but the header has {header_width}; "
                "quote cells that contain the delimiter, or remove the extra cells",
            )
        )

    full_key_columns = set()
    for index, cell in enumerate(cells):
        full_keys = find_full_keys(cell)
        if full_keys:
            column = _column_name(columns, index)
            full_key_columns.add(column)
            problems.append(InventoryProblem(line, column, _full_key_message(full_keys[0])))

    values = {name: _cell(cells, index) for name, index in columns.items() if name not in full_key_columns}
    parsed = _RowParser(line, values, problems)

    key_id = parsed.required_text("key_id", "give the key an identifier, such as WIN11-ENT-MAK-1")
    product = parsed.required_text("product", "name the product the MAK activates, such as Windows 11 Enterprise")
    partial_key = parsed.partial_key()
    allotment = parsed.count("allotment", required=True)
    entitlement = parsed.count("entitlement", required=False)
    acquired = parsed.date("acquired")
    rotate_by = parsed.date("rotate_by")
    status = parsed.status()

    if problems or key_id is None or product is None or partial_key is None or allotment is None or status is None:
        return _Row(None, problems, key_id, partial_key)

    key = InventoryKey(
        key_id=key_id,
        product=product,
        partial_product_key=partial_key,
        allotment=allotment,
        status=status,
        entitlement=entitlement,
        acquired=acquired,
        rotate_by=rotate_by,
        custodian=values.get("custodian") or None,
        agreement=values.get("agreement") or None,
        notes=values.get("notes") or None,
        line=line,
    )
    return _Row(key, problems, key_id, partial_key)


def _column_name(columns: dict[str, int], index: int) -> str:
    for name, position in columns.items():
        if position == index:
            return name
    return f"column {index + 1}"


def _cell(cells: list[str], index: int) -> str:
    return cells[index].strip() if index < len(cells) else ""


def _echo(value: str) -> str:
    """Quote a cell value for a message, shortened so that one bad cell cannot flood the output."""
    if len(value) > _ECHO_LIMIT:
        value = value[: _ECHO_LIMIT - 3] + "..."
    return repr(value)


def _full_key_message(key_text: str) -> str:
    ending = last_five(key_text)
    return (
        f"contains a full 25-character product key (ending in {ending}); a full MAK must never be stored "
        f"in the inventory. Delete it and keep only its last five characters, {ending}, in partial_product_key"
    )


def _partial_key_message(text: str) -> str:
    """Explain why ``text`` is not a partial product key, echoing at most its last five characters."""
    length = len(text)
    if length > PARTIAL_KEY_LENGTH:
        return (
            f"is not a partial product key: it has {length} characters (ending in {last_five(text)}); "
            "keep only the last five characters of the key"
        )
    if length < PARTIAL_KEY_LENGTH:
        return (
            f"is not a partial product key: it has {length} characters ({text!r}); "
            "enter exactly the last five characters of the MAK, such as 7QJ2K"
        )

    invalid = sorted({character for character in text.upper() if character not in KEY_ALPHABET})
    return (
        f"invalid partial product key {text!r}: the product key alphabet has no {', '.join(invalid)}; "
        f"enter exactly the last five characters of the MAK, using only {KEY_ALPHABET}"
    )


class _RowParser:
    """Convert the cells of one row, appending a problem for each invalid cell."""

    def __init__(self, line: int, values: dict[str, str], problems: list[InventoryProblem]) -> None:
        self.line = line
        self.values = values
        self.problems = problems

    def _problem(self, column: str, message: str) -> None:
        self.problems.append(InventoryProblem(self.line, column, message))

    def required_text(self, column: str, fix: str) -> str | None:
        if column not in self.values:
            return None
        text = self.values[column]
        if not text:
            self._problem(column, f"is empty; {fix}")
            return None
        return text

    def partial_key(self) -> str | None:
        column = "partial_product_key"
        text = self.required_text(column, "enter the last five characters of the MAK, such as 7QJ2K")
        if text is None:
            return None

        if not is_partial_key(text):
            self._problem(column, _partial_key_message(text))
            return None
        return text.upper()

    def count(self, column: str, *, required: bool) -> int | None:
        text = self.values.get(column, "")
        if not text:
            if required and column in self.values:
                self._problem(column, "is empty; enter the number as a whole number, such as 150")
            return None

        if re.fullmatch(r"[+-]?\d+", text):
            number = int(text)
            if number >= 0:
                return number
            self._problem(column, f"negative number {_echo(text)}; enter 0 or more")
            return None

        self._problem(
            column, f"invalid number {_echo(text)}; enter a whole number without separators or decimals, such as 150"
        )
        return None

    def date(self, column: str) -> date | None:
        text = self.values.get(column, "")
        if not text:
            return None
        try:
            return parse_inventory_date(text)
        except ValueError as error:
            self._problem(column, f"invalid date {_echo(text)}: {error}")
            return None

    def status(self) -> KeyStatus | None:
        column = "status"
        valid = ", ".join(status.value for status in KeyStatus)
        text = self.required_text(column, f"enter one of {valid}")
        if text is None:
            return None
        try:
            return KeyStatus(text.lower())
        except ValueError:
            self._problem(column, f"unknown status {_echo(text)}; enter one of {valid}")
            return None


def _check_duplicates(
    row: _Row, line: int, seen_ids: dict[str, int], seen_partials: dict[str, int]
) -> list[InventoryProblem]:
    """Report a key id or partial product key already used on an earlier line; key ids compare case-insensitively."""
    problems = []

    if row.key_id is not None:
        folded = row.key_id.casefold()
        if folded in seen_ids:
            problems.append(
                InventoryProblem(
                    line,
                    "key_id",
                    f"duplicate key id {_echo(row.key_id)}, already used on line {seen_ids[folded]}; "
                    "give each MAK its own key id",
                )
            )
        else:
            seen_ids[folded] = line

    partial = row.partial_product_key
    if partial is not None:
        if partial in seen_partials:
            problems.append(
                InventoryProblem(
                    line,
                    "partial_product_key",
                    f"duplicate partial product key {partial}, already on line {seen_partials[partial]}; "
                    "each MAK appears once, so merge the two rows",
                )
            )
        else:
            seen_partials[partial] = line
    return problems


def parse_inventory_date(text: str) -> date:
    """Parse ``YYYY-MM-DD`` or ``DD.MM.YYYY``; raise ValueError explaining the accepted forms otherwise.

    Dates with slashes are rejected because ``03/04/2024`` reads as March 4 in the
    United States and as 3 April elsewhere.
    """
    text = text.strip()
    iso = _ISO_DATE.fullmatch(text)
    dotted = _DOTTED_DATE.fullmatch(text)

    if iso:
        year, month, day = (int(part) for part in iso.groups())
    elif dotted:
        day, month, year = (int(part) for part in dotted.groups())
    elif _SLASHED_DATE.fullmatch(text):
        raise ValueError("dates with slashes are ambiguous (day or month first); write it as YYYY-MM-DD")
    else:
        raise ValueError("write the date as YYYY-MM-DD, such as 2024-03-31 (DD.MM.YYYY is accepted too)")

    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError("no such day in the calendar; write an existing date as YYYY-MM-DD") from None
