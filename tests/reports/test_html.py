"""The HTML page, parsed back with html.parser: sections, tables, escaping and self-containment."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from jinja2.exceptions import UndefinedError

from makaudit.model import AnalysisResult
from makaudit.reports.atomic import ReportWriteError
from makaudit.reports.html import render_html, write_html
from makaudit.reports.model import HOST_COLUMNS, build_report
from report_samples import FORMULA, SCAN, SCRIPT, make_result


class PageParser(HTMLParser):
    """Collect the elements, attributes and table cells of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str | None]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.style_text = ""
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [(tag, name, value) for name, value in attrs]
        if tag == "table":
            self._table = dict(attrs).get("id", f"table-{len(self.tables)}")
            self.tables[self._table] = []
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "style":
            self._in_style = True

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._table is not None and self._row is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._in_style:
            self.style_text += data


def parse(page: str) -> PageParser:
    parser = PageParser()
    parser.feed(page)
    parser.close()
    return parser


@pytest.fixture
def page(result: AnalysisResult) -> PageParser:
    return parse(render_html(build_report(result, title="Fleet audit", scan=SCAN)))


def test_no_script_element(page):
    assert "script" not in page.tags


def test_script_host_escaped(result):
    text = render_html(build_report(result))
    assert SCRIPT not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_script_host_shown_as_text(page):
    computers = [row[1] for row in page.tables["hosts-table"][1:]]
    assert SCRIPT in computers


def test_no_external_references(page):
    linked = [(tag, name, value) for tag, name, value in page.attributes if name in ("src", "href", "action", "srcset")]
    assert linked == []
    assert "url(" not in page.style_text
    assert "@import" not in page.style_text


def test_no_external_elements(page):
    assert not {"link", "img", "iframe", "object", "embed", "base", "form"} & set(page.tags)


def test_content_security_policy(page):
    policies = [value for tag, name, value in page.attributes if tag == "meta" and name == "content" and value and "default-src" in value]
    assert policies == ["default-src 'none'; style-src 'unsafe-inline'"]


def test_print_styles_present(page):
    assert "@media print" in page.style_text


def test_hosts_table(page, result):
    rows = page.tables["hosts-table"]
    assert rows[0] == [column.heading for column in HOST_COLUMNS]
    expected = sum(max(1, len(host.state.records)) if host.state else 1 for host in result.hosts)
    assert len(rows) - 1 == expected


def test_formula_shown_literally(page):
    products = [row[7] for row in page.tables["hosts-table"][1:]]
    assert FORMULA in products


def test_control_characters_removed(page):
    products = [row[7] for row in page.tables["hosts-table"][1:]]
    assert "Windows Pro edition" in products


def test_findings_table_sorted(page, result):
    rows = page.tables["findings-table"]
    assert len(rows) - 1 == len(result.findings)
    assert [row[0] for row in rows[1:]] == ["critical", "high", "high", "medium", "low", "info"]


def test_keys_table_formats(page):
    rows = page.tables["keys-table"]
    first = dict(zip(rows[0], rows[1]))
    assert first["Key ID"] == "WIN-ENT-A"
    assert first["Utilization"] == "150.0%"
    assert first["Remaining"] == "-1"


def test_key_usage_bars(result):
    text = render_html(build_report(result))
    assert 'class="fill over" style="width: 100.0%"' in text
    assert 'class="fill near" style="width: 90.0%"' in text
    assert 'class="fill unknown" style="width: 0.0%"' in text


def test_unreachable_table(page):
    rows = page.tables["unreachable-table"]
    assert rows[1] == ["10.0.0.9", "unreachable", "connection refused on port 5985"]


def test_history_table(page):
    rows = page.tables["history-table"]
    assert rows[0] == ["Scan", "Started (UTC)", "OFF-PP-A", "WIN-ENT-A", "not in inventory (ZZZZZ)"]
    assert rows[1] == ["1", "2026-11-01 02:00", "7", "1", ""]


def test_scan_facts_shown(result):
    text = render_html(build_report(result, scan=SCAN))
    assert "scan over winrm/ntlm" in text
    assert "2026-12-04 19:30" in text


def test_title_escaped(result):
    page = parse(render_html(build_report(result, title="<b>Audit</b>")))
    assert "b" not in page.tags


def test_empty_result_renders():
    empty = make_result(hosts=(), keys=(), findings=(), positions=(), trends=())
    page = parse(render_html(build_report(empty)))
    assert "hosts-table" not in page.tables
    assert "history-table" not in page.tables


def test_write_html_file(tmp_path, result):
    target = tmp_path / "audit.html"
    write_html(build_report(result), target)
    assert target.read_text(encoding="utf-8") == render_html(build_report(result))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["audit.html"]


def test_write_html_missing_folder(tmp_path, result):
    target = tmp_path / "missing" / "audit.html"
    with pytest.raises(ReportWriteError, match="does not exist"):
        write_html(build_report(result), target)


def test_write_html_keeps_old_file(tmp_path, result):
    target = tmp_path / "audit.html"
    target.write_text("previous report", encoding="utf-8")
    report = build_report(result)
    object.__setattr__(report, "findings", None)

    with pytest.raises(UndefinedError):
        write_html(report, target)

    assert target.read_text(encoding="utf-8") == "previous report"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["audit.html"]


def test_identifier_cells_do_not_wrap(result):
    text = render_html(build_report(result))

    assert '<td class="text id">WIN-ENT-A</td>' in text
    assert '<td class="text id">7QJ2K</td>' in text
    assert '<td class="text id">PC-0001</td>' in text
    assert '<td class="text id">pc-0001.corp.example</td>' in text
    assert '<td class="text">Windows 11 Enterprise</td>' in text
    assert "td.id" in text
    assert "white-space: nowrap" in text


def test_grace_days_one_decimal(page):
    hosts = page.tables["hosts-table"]
    grace_at = hosts[0].index("Grace days left")
    grace = {row[1]: row[grace_at] for row in hosts[1:]}
    assert grace["PC-0005"] == "179.9"
    assert grace["PC-0007"] == "30.0"
    assert grace["PC-0001"] == ""


def test_hosts_tables_sorted_by_name():
    result = make_result()
    page = parse(render_html(build_report(make_result(hosts=tuple(reversed(result.hosts))))))

    computers = [row[1] for row in page.tables["hosts-table"][1:]]
    named = [name for name in computers if name]
    assert named == sorted(named, key=str.casefold)
    assert computers[: len(named)] == named
    targets = [row[0] for row in page.tables["unreachable-table"][1:]]
    assert targets == ["10.0.0.9", "pc-0010.corp.example", "pc-0011.corp.example"]
