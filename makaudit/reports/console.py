"""Terminal views with rich: the run summary and the helpdesk card of one host.

Endpoint strings are printed as ``rich.text.Text`` objects, never as console
markup, so a product named ``[bold]x[/bold]`` prints literally. When the
console is not a terminal, rich drops colours and prints plain text 80
columns wide. Key IDs, partial keys and host names are never cut to fit: those
columns are as wide as their longest value, and message columns wrap instead.
"""

from __future__ import annotations

from typing import Iterable

from rich import box
from rich.console import Console, Group, JustifyMethod
from rich.panel import Panel
from rich.table import Table as RichTable
from rich.text import Text

from makaudit.model import AnalysisResult, Finding, HostResult, KeyUsage, LicenseRecord, Severity
from makaudit.reports.formatting import clean_text, format_value
from makaudit.reports.model import (
    ColumnType,
    active_findings,
    is_collected,
    is_fully_activated,
    not_collected_counts,
    sort_findings,
    to_naive_utc,
)
from makaudit.reports.redact import mask_product_keys, partial_key
from makaudit.reports.usage import KeyIndex, StatusAlert, UsageState, key_label, status_alert, usage_state
from makaudit.reports.verdict import findings_for_host, host_verdict

TOP_FINDINGS = 10
NO_INVENTORY = "no inventory loaded"

SEVERITY_STYLES = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
SUPPRESSED_STYLE = "dim"
USAGE_STYLES = {UsageState.OVER: "bold red", UsageState.NEAR: "yellow", UsageState.OK: "green", UsageState.UNKNOWN: "dim"}
ALERT_STYLES = {StatusAlert.BLOCKED: "bold red", StatusAlert.RETIRED: "yellow"}
"""Styles of a revoked, compromised or retired key in use; they replace the usage colour, which would look healthy."""


def _text(value: object, style: str = "") -> Text:
    """Return an endpoint value as literal text without control characters."""
    return Text("" if value is None else clean_text(str(value)), style=style)


def _add_identifier_column(table: RichTable, heading: str, values: Iterable[object]) -> None:
    """Add a column for key IDs, partial keys or host names, wide enough that no value is cut or wrapped."""
    widest = max((len(clean_text(str(value))) for value in values if value is not None), default=0)
    table.add_column(heading, no_wrap=True, overflow="fold", min_width=max(widest, 1))


def _add_wrapping_column(table: RichTable, heading: str, justify: JustifyMethod = "left") -> None:
    """Add a column that wraps at spaces (``162 / 150`` above ``(108.0%)``) and folds a word too long for it.

    No minimum width is set: rich would restore it after narrowing the wrapping
    columns, and the table would then overflow and cut its last column.
    """
    table.add_column(heading, justify=justify, overflow="fold")


def _table(title: str | None = None) -> RichTable:
    """Return an empty table with two spaces between columns and none at the edges, to leave room in 80 columns."""
    return RichTable(
        title=title,
        box=box.SIMPLE_HEAD,
        title_justify="left",
        show_edge=False,
        collapse_padding=True,
        pad_edge=False,
    )


def usage_text(key: KeyUsage, threshold: float, inventory_loaded: bool = True) -> Text:
    """Return ``162 / 150 (108.0%)`` for a key, coloured by its key status alert, else by its usage state."""
    alert = status_alert(key)
    style = ALERT_STYLES[alert] if alert is not None else USAGE_STYLES[usage_state(key, threshold)]
    if key.allotment is None:
        suffix = " activated" if not inventory_loaded else " (no allotment)"
        return Text(f"{key.activated:,}{suffix}", style=style)
    utilization = format_value(key.utilization, ColumnType.PERCENT) or "n/a"
    return Text(f"{key.activated:,} / {key.allotment:,} ({utilization})", style=style)


def key_status_suffix(key: KeyUsage) -> str:
    """Return `` (revoked)`` for a key whose inventory status is not active; empty for an active or unknown key."""
    status = (key.key_status or "").strip().lower()
    if not status or status == "active":
        return ""
    return f" ({clean_text(status)})"


def _key_cell(label: str, key: KeyUsage) -> Text:
    """Return the key's label followed by its status when that is not active, in the alert colour when hosts use it."""
    cell = _text(label)
    suffix = key_status_suffix(key)
    if suffix:
        alert = status_alert(key)
        cell.append(suffix, style=ALERT_STYLES[alert] if alert is not None else "dim")
    return cell


def render_summary(console: Console, result: AnalysisResult) -> None:
    """Print the host counts, a table of keys against their allotment, and the worst findings."""
    console.print(_counts_line(result))
    console.print(_keys_table(result))
    note = _keys_note(result)
    if note:
        console.print(Text(note, style="dim"))

    findings = sort_findings(result.findings)
    if not findings:
        console.print(Text("No findings.", style="green"))
        return
    shown = findings[:TOP_FINDINGS]
    console.print(_findings_table(shown, title=f"Top findings ({len(shown)} of {len(findings)})"))


def _counts_line(result: AnalysisResult) -> Text:
    hosts = result.hosts
    collected = sum(1 for host in hosts if is_collected(host))
    activated = sum(1 for host in hosts if is_fully_activated(host))

    line = Text(f"{len(hosts):,} hosts, {collected:,} collected, {len(hosts) - collected:,} not collected")
    failures = [f"{count:,} {status}" for status, count in not_collected_counts(hosts) if count]
    if failures:
        line.append(f" ({', '.join(failures)})")
    line.append(f", {activated:,} fully activated; findings: ")

    by_severity = {severity: 0 for severity in Severity}
    for finding in active_findings(result.findings):
        by_severity[finding.severity] += 1
    line.append(", ".join(f"{count} {severity.value}" for severity, count in by_severity.items() if count) or "none")

    suppressed = len(result.findings) - sum(by_severity.values())
    if suppressed:
        line.append(f"; {suppressed} suppressed", style=SUPPRESSED_STYLE)
    return line


def _keys_table(result: AnalysisResult) -> RichTable:
    inventory_loaded = result.inventory_loaded
    keys = result.keys
    threshold = result.near_limit_threshold
    partials = [partial_key(key.partial_product_key) or "" for key in keys]
    usage = [usage_text(key, threshold, inventory_loaded) for key in keys]
    not_activated = [f"{key.installed_not_activated:,}" for key in keys]
    remaining = ["" if key.remaining is None else f"{key.remaining:,}" for key in keys]
    table = _table("MAK usage against allotment" if inventory_loaded else f"MAK activations ({NO_INVENTORY})")

    # Without an inventory a key has no ID, so the partial key alone names it.
    labels = [key_label(key.key_id, partial) for key, partial in zip(keys, partials)]
    if inventory_loaded:
        _add_identifier_column(table, "Key", [label + key_status_suffix(key) for label, key in zip(labels, keys)])
    _add_identifier_column(table, "Partial\nkey", partials)
    _add_wrapping_column(table, "Product")
    _add_wrapping_column(table, "Activated /\nallotment" if inventory_loaded else "Activated", justify="right")
    _add_wrapping_column(table, "Not\nactivated", justify="right")
    if inventory_loaded:
        _add_wrapping_column(table, "Remaining", justify="right")

    for position, key in enumerate(keys):
        cells: list[object] = [_key_cell(labels[position], key)] if inventory_loaded else []
        cells += [_text(partials[position]), _text(key.product), usage[position], not_activated[position]]
        if inventory_loaded:
            cells.append(remaining[position])
        table.add_row(*cells)
    return table


def _keys_note(result: AnalysisResult) -> str | None:
    """Return the line printed under the keys table, when the table needs one."""
    if result.inventory_loaded:
        return None if result.keys else "No MAK was found and the inventory lists no keys."
    if not result.keys:
        return f"No MAK was found on the hosts ({NO_INVENTORY})."
    return (
        f"{NO_INVENTORY.capitalize()}: MAKs are listed by partial product key. "
        "Give --inventory to match them to their allotments."
    )


def _short_subject(host: str | None) -> str | None:
    """Shorten a file path used as a host name (an imported capture without a computer name) to its file name.

    A full path in an identifier column, which never wraps, would leave the message column a few characters wide.
    """
    if host is None or ("/" not in host and "\\" not in host):
        return host
    return host.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or host


def _findings_table(findings: list[Finding], title: str) -> RichTable:
    subjects = [
        _short_subject(finding.host) or finding.key_id or partial_key(finding.partial_product_key) or "" for finding in findings
    ]
    table = _table(title)
    table.add_column("Severity", no_wrap=True)
    table.add_column("Code", no_wrap=True)
    _add_identifier_column(table, "Host or key", subjects)
    _add_wrapping_column(table, "Message")

    for finding, subject in zip(findings, subjects):
        message = _text(mask_product_keys(finding.message))
        if finding.suppressed:
            severity = Text(f"{finding.severity.value} (suppressed)", style=SUPPRESSED_STYLE)
            if finding.suppression_reason:
                message.append(f" [suppressed: {clean_text(mask_product_keys(finding.suppression_reason))}]")
        else:
            severity = Text(finding.severity.value, style=SEVERITY_STYLES[finding.severity])
        table.add_row(
            severity,
            _text(finding.code),
            _text(subject),
            message,
            style=SUPPRESSED_STYLE if finding.suppressed else None,
        )
    return table


def render_host_card(console: Console, host: HostResult, result: AnalysisResult) -> None:
    """Print the helpdesk card of one host: identity, products, matching inventory keys, findings and a verdict."""
    keys = KeyIndex(result.keys)
    threshold = result.near_limit_threshold
    verdict = _text(host_verdict(host, keys, threshold, inventory_loaded=result.inventory_loaded), style="bold")
    parts: list[object] = [Text.assemble(("Verdict: ", "bold"), verdict), Text(""), _identity(host)]

    if host.state is not None and host.state.records:
        parts.append(_products_table(host.state.records, keys, threshold, result.inventory_loaded))

    findings = findings_for_host(host, result.findings)
    if findings:
        parts.append(_findings_table(findings, title="Findings"))

    title = _text(host.computer_name or host.target, style="bold")
    console.print(Panel(Group(*parts), title=title, title_align="left", box=box.ROUNDED))


def _identity(host: HostResult) -> RichTable:
    grid = RichTable.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(overflow="fold")
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


def _products_table(
    records: tuple[LicenseRecord, ...], keys: KeyIndex, threshold: float, inventory_loaded: bool
) -> RichTable:
    matched = [keys.find(record.partial_product_key) for record in records]
    partials = [partial_key(record.partial_product_key) for record in records]
    inventory_keys = [_inventory_key_cell(key, inventory_loaded) for key in matched]
    usage = [Text("") if key is None else usage_text(key, threshold, inventory_loaded) for key in matched]
    statuses = [_status_and_channel(record) for record in records]

    table = _table("Products")
    _add_wrapping_column(table, "Product")
    _add_wrapping_column(table, "Status,\nchannel")
    _add_identifier_column(table, "Partial\nkey", partials)
    _add_identifier_column(table, "Inventory\nkey", inventory_keys)
    _add_wrapping_column(table, "Usage", justify="right")

    rows = zip(records, matched, statuses, partials, inventory_keys, usage)
    for record, key, status, partial, inventory_key, key_usage in rows:
        table.add_row(
            _text(record.name),
            status,
            _text(partial),
            _text(inventory_key, style="dim" if key is not None and key.key_id is None else ""),
            key_usage,
        )
    return table


def _status_and_channel(record: LicenseRecord) -> Text:
    """Return ``Licensed MAK``: status and channel share a column, to leave room for the key columns."""
    status = "unknown" if record.license_status is None else record.license_status.label
    return Text.assemble((status, "green" if record.is_activated else "bold red"), " ", (record.channel.value, "dim"))


def _inventory_key_cell(key: KeyUsage | None, inventory_loaded: bool) -> str | None:
    if key is None:
        return None
    if key.key_id is None and not inventory_loaded:
        return NO_INVENTORY
    return key_label(key.key_id, partial_key(key.partial_product_key) or "")
