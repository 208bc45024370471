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
from makaudit.reports.model import ColumnType, KeyBar, Report

TEMPLATE = "report.html.j2"

# Bars stop at 100 % of their track; a key over its allotment shows a full red bar and the real figure.
_BAR_LIMIT = 1.0


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
