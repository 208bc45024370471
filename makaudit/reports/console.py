"""Terminal views with rich: the run summary and the helpdesk card of one host.

Endpoint strings are printed as ``rich.text.Text`` objects, never as console
markup, so a product named ``[bold]x[/bold]`` prints literally. When the
console is not a terminal, rich drops colours and prints plain text.
"""

from __future__ import annotations

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table as RichTable
from rich.text import Text

from makaudit.model import AnalysisResult, Finding, HostResult, KeyUsage, LicenseRecord, Severity
from makaudit.reports.formatting import clean_text, format_value
from makaudit.reports.model import ColumnType, is_fully_activated, sort_findings, to_naive_utc
from makaudit.reports.redact import mask_product_keys, partial_key
from makaudit.reports.usage import KeyIndex, UsageState, key_label, usage_state
from makaudit.reports.verdict import findings_for_host, host_verdict

TOP_FINDINGS = 10

SEVERITY_STYLES = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
USAGE_STYLES = {UsageState.OVER: "bold red", UsageState.NEAR: "yellow", UsageState.OK: "green", UsageState.UNKNOWN: "dim"}


def _text(value: object, style: str = "") -> Text:
    """Return an endpoint value as literal text without control characters."""
    return Text("" if value is None else clean_text(str(value)), style=style)


def usage_text(key: KeyUsage, threshold: float) -> Text:
    """Return ``162 / 150 (108.0%)`` for a key, coloured by its usage state against the allotment."""
    state = usage_state(key, threshold)
    if key.allotment is None:
        return Text(f"{key.activated:,} (no allotment)", style=USAGE_STYLES[state])
    utilization = format_value(key.utilization, ColumnType.PERCENT) or "n/a"
    return Text(f"{key.activated:,} / {key.allotment:,} ({utilization})", style=USAGE_STYLES[state])


def render_summary(console: Console, result: AnalysisResult) -> None:
    """Print the host counts, a table of keys against their allotment, and the worst findings."""
    console.print(_counts_line(result))
    console.print(_keys_table(result))

    findings = sort_findings(result.findings)
    if not findings:
        console.print(Text("No findings.", style="green"))
        return
    console.print(_findings_table(findings[:TOP_FINDINGS], title=f"Top findings ({min(len(findings), TOP_FINDINGS)} of {len(findings)})"))


def _counts_line(result: AnalysisResult) -> Text:
    hosts = result.hosts
    reachable = sum(1 for host in hosts if host.state is not None)
    activated = sum(1 for host in hosts if is_fully_activated(host))
    by_severity = {severity: 0 for severity in Severity}
    for finding in result.findings:
        by_severity[finding.severity] += 1

    line = Text(f"{len(hosts):,} hosts, {reachable:,} reachable, {activated:,} fully activated; findings: ")
    line.append(", ".join(f"{count} {severity.value}" for severity, count in by_severity.items() if count) or "none")
    return line


def _keys_table(result: AnalysisResult) -> RichTable:
    table = RichTable(title="MAK usage against allotment", box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("Key")
    table.add_column("Partial key")
    table.add_column("Product")
    table.add_column("Activated / allotment", justify="right")
    table.add_column("Not activated", justify="right")
    table.add_column("Remaining", justify="right")

    for key in result.keys:
        table.add_row(
            _text(key_label(key.key_id, partial_key(key.partial_product_key) or "")),
            _text(partial_key(key.partial_product_key)),
            _text(key.product),
            usage_text(key, result.near_limit_threshold),
            f"{key.installed_not_activated:,}",
            "" if key.remaining is None else f"{key.remaining:,}",
        )
    if not result.keys:
        table.caption = "No MAK was found and the inventory lists no keys."
    return table


def _findings_table(findings: list[Finding], title: str) -> RichTable:
    table = RichTable(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("Severity")
    table.add_column("Code")
    table.add_column("Host or key")
    table.add_column("Message")
    for finding in findings:
        subject = finding.host or finding.key_id or partial_key(finding.partial_product_key) or ""
        table.add_row(
            Text(finding.severity.value, style=SEVERITY_STYLES[finding.severity]),
            _text(finding.code),
            _text(subject),
            _text(mask_product_keys(finding.message)),
        )
    return table


def render_host_card(console: Console, host: HostResult, result: AnalysisResult) -> None:
    """Print the helpdesk card of one host: identity, products, matching inventory keys, findings and a verdict."""
    keys = KeyIndex(result.keys)
    threshold = result.near_limit_threshold
    verdict = _text(host_verdict(host, keys, threshold), style="bold")
    parts: list[object] = [Text.assemble(("Verdict: ", "bold"), verdict), Text(""), _identity(host)]

    if host.state is not None and host.state.records:
        parts.append(_products_table(host.state.records, keys, threshold))

    findings = findings_for_host(host, result.findings)
    if findings:
        parts.append(_findings_table(findings, title="Findings"))

    title = _text(host.computer_name or host.target, style="bold")
    console.print(Panel(Group(*parts), title=title, title_align="left", box=box.ROUNDED))


def _identity(host: HostResult) -> RichTable:
    grid = RichTable.grid(padding=(0, 2))
    grid.add_column(style="dim")
    grid.add_column()
    grid.add_row("Target", _text(host.target))
    grid.add_row("Collection", _text(host.status.value + (f": {mask_product_keys(host.error)}" if host.error else "")))

    state = host.state
    if state is not None:
        computer = state.computer
        for label, value in (
            ("Computer", computer.name),
            ("DNS name", computer.dns_host_name),
            ("Domain", computer.domain),
            ("Operating system", " ".join(part for part in (computer.os_caption, computer.os_version) if part)),
            ("KMS host", state.kms_machine),
        ):
            if value:
                grid.add_row(label, _text(value))
        collected = to_naive_utc(state.collected_at)
        if collected is not None:
            grid.add_row("Collected", format_value(collected, ColumnType.DATE) + " UTC")
    return grid


def _products_table(records: tuple[LicenseRecord, ...], keys: KeyIndex, threshold: float) -> RichTable:
    table = RichTable(box=box.SIMPLE_HEAD, title="Products", title_justify="left")
    table.add_column("Product")
    table.add_column("Status")
    table.add_column("Channel")
    table.add_column("Partial key")
    table.add_column("Inventory key")
    table.add_column("Usage", justify="right")

    for record in records:
        status = "unknown" if record.license_status is None else record.license_status.label
        key = keys.find(record.partial_product_key)
        table.add_row(
            _text(record.name),
            Text(status, style="green" if record.is_activated else "bold red"),
            _text(record.channel.value),
            _text(partial_key(record.partial_product_key)),
            _text(None if key is None else key_label(key.key_id, key.partial_product_key)),
            Text("") if key is None else usage_text(key, threshold),
        )
    return table
