"""The HTML report: one self-contained page (inline CSS, no scripts, no external assets).

Templates are loaded from the package with autoescaping on, so every
endpoint string is escaped; the page is streamed to disk chunk by chunk.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from makaudit.reports.atomic import write_atomically
from makaudit.reports.formatting import clean_text, format_value
from makaudit.reports.model import Column, ColumnType, KeyBar, Report
from makaudit.reports.usage import StatusAlert

TEMPLATE = "report.html.j2"

# Bars stop at 100 % of their track; a key over its allotment shows a full red bar and the real figure.
_BAR_LIMIT = 1.0

IDENTIFIER_COLUMNS = frozenset({"key_id", "partial_product_key", "target", "computer", "host"})
"""Columns of key IDs, partial keys and host names, kept on one line: ``WIN-ENT-MAK-C`` must not break at a hyphen."""

# A revoked or compromised key in use is drawn like a key over its allotment, a retired one like a key near it.
_ALERT_CLASSES = {StatusAlert.BLOCKED: "over", StatusAlert.RETIRED: "near"}


@lru_cache(maxsize=1)
def template_environment() -> Environment:
    """Return the Jinja2 environment of the report templates (autoescaped, strict about undefined names)."""
    environment = Environment(
        loader=PackageLoader("makaudit.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_finalize,
    )
    environment.filters["cell"] = format_value
    environment.globals["ColumnType"] = ColumnType
    environment.globals["bar_percent"] = bar_percent
    environment.globals["bar_class"] = bar_class
    environment.globals["cell_class"] = cell_class
    return environment


def _finalize(value: object) -> object:
    """Remove control characters from every string a template prints; markup from macros passes unchanged."""
    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    return clean_text(value)


def bar_percent(bar: KeyBar) -> float:
    """Return the filled share of a usage bar, 0 to 100, for the CSS width."""
    if not bar.allotment:
        return 0.0
    return round(min(bar.activated / bar.allotment, _BAR_LIMIT) * 100, 1)


def bar_class(bar: KeyBar) -> str:
    """Return the CSS class of a usage bar: the status alert of a key when it has one, else its usage state."""
    if bar.alert is not None:
        return _ALERT_CLASSES[bar.alert]
    return bar.state.value


def cell_class(column: Column) -> str:
    """Return the CSS classes of a table cell: its column type, and ``id`` for identifier columns."""
    if column.key in IDENTIFIER_COLUMNS:
        return f"{column.type.value} id"
    return column.type.value


def write_html(report: Report, path: Path) -> None:
    """Write ``report`` as one self-contained HTML file at ``path``, atomically.

    Raises ``ReportWriteError`` when the folder is missing or the file cannot
    be written; an existing file at ``path`` is then left unchanged.
    """
    write_atomically(Path(path), lambda temporary: _render_to(report, temporary))


def render_html(report: Report) -> str:
    """Return the page as one string (for small reports and tests; ``write_html`` streams)."""
    return "".join(_chunks(report))


def _render_to(report: Report, path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as stream:
        for chunk in _chunks(report):
            stream.write(chunk)


def _chunks(report: Report):
    template = template_environment().get_template(TEMPLATE)
    return template.generate(report=report)
