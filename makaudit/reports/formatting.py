"""Text forms of typed report values, shared by the HTML and terminal renderers."""

from __future__ import annotations

import re
from datetime import datetime

from makaudit.reports.model import CellValue, ColumnType, to_naive_utc

DATE_TEXT = "%Y-%m-%d %H:%M"

# C0 control characters other than tab, line feed and carriage return, and DEL:
# HTML forbids them and a terminal would act on them.
_CONTROL_CHARACTERS_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    """Remove control characters from an endpoint string before it is shown."""
    # str.isprintable() is False for every character the expression removes, so printable text skips it.
    if text.isprintable():
        return text
    return _CONTROL_CHARACTERS_RE.sub("", text)


def format_value(value: CellValue, column_type: ColumnType) -> str:
    """Return ``value`` as readers see it: ``1,250``, ``0.3``, ``90.0%``, ``2026-12-04 19:40``, or an empty string for None."""
    if value is None:
        return ""
    if column_type is ColumnType.INTEGER and isinstance(value, int):
        return f"{value:,}"
    if column_type is ColumnType.DECIMAL and isinstance(value, (int, float)):
        return f"{value:,.1f}"
    if column_type is ColumnType.PERCENT and isinstance(value, (int, float)):
        return f"{value:.1%}"
    if column_type is ColumnType.DATE and isinstance(value, datetime):
        return to_naive_utc(value).strftime(DATE_TEXT)
    return clean_text(str(value))
