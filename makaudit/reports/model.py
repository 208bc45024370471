"""The format-neutral report model: typed tables, summary facts and key usage.

``build_report`` turns an ``AnalysisResult`` into a ``Report``. The Excel,
HTML and terminal renderers only lay out what the report holds, so every
number a reader sees is computed once, here. Dates in tables are naive UTC
datetimes, percentages are fractions (``1.08`` is 108 %), and product keys
appear only as their last five characters.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Iterator, Sequence

from makaudit.model import (
    AnalysisResult,
    Channel,
    Finding,
    HostResult,
    HostStatus,
    KeyTrendPoint,
    KeyUsage,
    LicenseRecord,
    Severity,
)
from makaudit.reports.redact import mask_product_keys, partial_key
from makaudit.reports.usage import KeyIndex, StatusAlert, UsageState, key_label, status_alert, usage_state

CellValue = str | int | float | datetime | None

DEFAULT_TITLE = "Volume activation audit"
NO_INVENTORY_NOTE = "none given: MAKs are listed by partial product key, without key ID or allotment"
NO_DATA = "no data"
"""Breakdown label of a host that reported success but returned no licensing data."""

# A finding about a revoked key can list thousands of hosts; a table cell shows
# the first ones and the count of the rest.
MAX_LISTED_HOSTS = 20


class ColumnType(enum.StrEnum):
    """Type of a column's values, which decides how they are formatted."""

    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    """A number shown with one decimal: 0.3 days."""
    PERCENT = "percent"
    """A fraction: 0.9 is shown as 90 %."""
    DATE = "date"
    """A naive datetime in UTC."""


@dataclass(frozen=True)
class Column:
    """One column of a table: a stable ``key`` for renderers, the heading readers see, and the type."""

    key: str
    heading: str
    type: ColumnType = ColumnType.TEXT


@dataclass(frozen=True)
class Table:
    """Rows of typed values under typed columns."""

    name: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[CellValue, ...], ...]

    def index(self, key: str) -> int:
        """Return the 0-based position of the column ``key``."""
        for position, column in enumerate(self.columns):
            if column.key == key:
                return position
        known = ", ".join(column.key for column in self.columns)
        raise KeyError(f"table {self.name!r} has no column {key!r}; its columns are {known}")

    def column_values(self, key: str) -> list[CellValue]:
        position = self.index(key)
        return [row[position] for row in self.rows]

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class ScanInfo:
    """When and what was scanned: ``source`` reads like ``scan over winrm/ntlm`` or ``import of 3 paths``."""

    started: datetime | None = None
    finished: datetime | None = None
    targets: int | None = None
    source: str | None = None


@dataclass(frozen=True)
class Fact:
    """One labelled value of the summary."""

    label: str
    value: CellValue
    type: ColumnType = ColumnType.TEXT


@dataclass(frozen=True)
class KeyBar:
    """Activations of one key against its allotment, for bar charts and usage bars."""

    label: str
    partial_product_key: str
    product: str | None
    activated: int
    allotment: int | None
    utilization: float | None
    state: UsageState
    key_status: str | None = None
    """Inventory status (``active``, ``retired``, ``revoked``, ``compromised``), None for a MAK not in the inventory."""
    alert: StatusAlert | None = None
    """Set for a revoked, compromised or retired key that hosts still use: the bar then shows the status."""


@dataclass(frozen=True)
class Report:
    """Everything a renderer lays out, independent of the output format."""

    title: str
    generated_at: datetime
    scan: ScanInfo | None
    near_limit_threshold: float
    scan_facts: tuple[Fact, ...]
    counts: tuple[Fact, ...]
    severity_counts: tuple[tuple[Severity, int], ...]
    key_bars: tuple[KeyBar, ...]
    positions: Table
    keys: Table
    findings: Table
    hosts: Table
    unreachable: Table
    history: Table | None
    """Activated hosts per key (one column each) per stored scan; None without trends."""
    inventory_loaded: bool = True
    """False when no inventory was given: keys then have no key ID, allotment or product."""
    not_collected: tuple[tuple[str, int], ...] = ()
    """Hosts not collected per status (``unreachable``, ``auth_failed``, ``timeout``, ``error``), zeros included."""

    def tables(self) -> Iterator[Table]:
        yield from (self.positions, self.keys, self.findings, self.hosts, self.unreachable)
        if self.history is not None:
            yield self.history


def to_naive_utc(moment: datetime | None) -> datetime | None:
    """Convert ``moment`` to a naive UTC datetime; naive values are taken as UTC already."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def build_report(result: AnalysisResult, title: str = DEFAULT_TITLE, scan: ScanInfo | None = None) -> Report:
    """Build the report model of ``result``; ``scan`` adds when and what was scanned."""
    key_index = KeyIndex(result.keys)
    threshold = result.near_limit_threshold
    inventory_loaded = result.inventory_loaded

    return Report(
        title=title,
        generated_at=to_naive_utc(result.generated_at),
        scan=scan,
        near_limit_threshold=threshold,
        scan_facts=_scan_facts(result, scan),
        counts=_counts(result),
        severity_counts=_severity_counts(result.findings),
        key_bars=tuple(_key_bar(key, threshold, inventory_loaded) for key in result.keys),
        positions=_positions_table(result),
        keys=_keys_table(result.keys, inventory_loaded),
        findings=_findings_table(result.findings),
        hosts=_hosts_table(result.hosts, key_index, inventory_loaded),
        unreachable=_unreachable_table(result.hosts),
        history=_history_table(result.trends, inventory_loaded),
        inventory_loaded=inventory_loaded,
        not_collected=not_collected_counts(result.hosts),
    )


def _scan_facts(result: AnalysisResult, scan: ScanInfo | None) -> tuple[Fact, ...]:
    facts = [Fact("Report generated (UTC)", to_naive_utc(result.generated_at), ColumnType.DATE)]
    if not result.inventory_loaded:
        facts.append(Fact("Inventory", NO_INVENTORY_NOTE))
    if scan is None:
        return tuple(facts)

    if scan.source:
        facts.append(Fact("Source", scan.source))
    if scan.started is not None:
        facts.append(Fact("Scan started (UTC)", to_naive_utc(scan.started), ColumnType.DATE))
    if scan.finished is not None:
        facts.append(Fact("Scan finished (UTC)", to_naive_utc(scan.finished), ColumnType.DATE))
    if scan.targets is not None:
        facts.append(Fact("Targets", scan.targets, ColumnType.INTEGER))
    return tuple(facts)


def is_collected(host: HostResult) -> bool:
    """Return True when the host's licensing data was read without a collection failure."""
    return host.status is HostStatus.OK and host.state is not None


def is_fully_activated(host: HostResult) -> bool:
    """Return True when the host was collected and every product with an installed key is Licensed."""
    if not is_collected(host):
        return False
    keyed = [record for record in host.state.records if record.partial_product_key]
    return bool(keyed) and all(record.is_activated for record in keyed)


def not_collected_counts(hosts: Iterable[HostResult]) -> tuple[tuple[str, int], ...]:
    """Count the hosts that were not collected, per failure status.

    Every failure status is listed, with zero when no host had it, so that
    reports keep the same rows from one scan to the next. A host that reported
    ``ok`` without licensing data is counted as ``no data``, listed only when
    there is one.
    """
    counts = {status.value: 0 for status in HostStatus if status is not HostStatus.OK}
    no_data = 0
    for host in hosts:
        if is_collected(host):
            continue
        if host.status is HostStatus.OK:
            no_data += 1
        else:
            counts[host.status.value] += 1

    if no_data:
        counts[NO_DATA] = no_data
    return tuple(counts.items())


def active_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Return the findings that are not suppressed by the configuration."""
    return [finding for finding in findings if not finding.suppressed]


def _counts(result: AnalysisResult) -> tuple[Fact, ...]:
    hosts = result.hosts
    collected = sum(1 for host in hosts if is_collected(host))
    activated = sum(1 for host in hosts if is_fully_activated(host))
    active = len(active_findings(result.findings))

    return (
        Fact("Hosts", len(hosts), ColumnType.INTEGER),
        Fact("Collected", collected, ColumnType.INTEGER),
        Fact("Not collected", len(hosts) - collected, ColumnType.INTEGER),
        Fact("Activated (every keyed product Licensed)", activated, ColumnType.INTEGER),
        Fact("Collected but not fully activated", collected - activated, ColumnType.INTEGER),
        Fact("Keys", len(result.keys), ColumnType.INTEGER),
        Fact("Active findings", active, ColumnType.INTEGER),
        Fact("Suppressed findings", len(result.findings) - active, ColumnType.INTEGER),
    )


def _severity_counts(findings: Iterable[Finding]) -> tuple[tuple[Severity, int], ...]:
    """Count the active findings per severity, worst first; suppressed findings are not counted."""
    counts = {severity: 0 for severity in Severity}
    for finding in active_findings(findings):
        counts[finding.severity] += 1
    return tuple(sorted(counts.items(), key=lambda item: -item[0].rank))


def _key_bar(key: KeyUsage, threshold: float, inventory_loaded: bool) -> KeyBar:
    return KeyBar(
        label=key_label(key.key_id, partial_key(key.partial_product_key), inventory_loaded),
        partial_product_key=partial_key(key.partial_product_key),
        product=key.product,
        activated=key.activated,
        allotment=key.allotment,
        utilization=key.utilization,
        state=usage_state(key, threshold),
        key_status=key.key_status,
        alert=status_alert(key),
    )


def _positions_table(result: AnalysisResult) -> Table:
    columns = (
        Column("product", "Product"),
        Column("entitlement", "Entitlement", ColumnType.INTEGER),
        Column("deployed", "Deployed", ColumnType.INTEGER),
        Column("surplus", "Surplus", ColumnType.INTEGER),
    )
    rows = tuple(
        (position.product, position.entitlement, position.deployed, position.surplus) for position in result.positions
    )
    return Table("Positions", columns, rows)


KEY_COLUMNS = (
    Column("key_id", "Key ID"),
    Column("partial_product_key", "Partial key"),
    Column("product", "Product"),
    Column("key_status", "Key status"),
    Column("allotment", "Allotment", ColumnType.INTEGER),
    Column("activated", "Activated", ColumnType.INTEGER),
    Column("installed_not_activated", "Installed, not activated", ColumnType.INTEGER),
    Column("remaining", "Remaining", ColumnType.INTEGER),
    Column("utilization", "Utilization", ColumnType.PERCENT),
    Column("entitlement", "Entitlement", ColumnType.INTEGER),
)


def _keys_table(keys: Sequence[KeyUsage], inventory_loaded: bool) -> Table:
    # Without an inventory no key can have an ID, so the column stays empty instead of
    # calling every key "not in inventory". With one, a MAK missing from it is named by
    # its partial key, so that several of them stay apart in the column and the chart.
    rows = tuple(
        (
            _key_id_cell(key, inventory_loaded),
            partial_key(key.partial_product_key),
            key.product,
            key.key_status,
            key.allotment,
            key.activated,
            key.installed_not_activated,
            key.remaining,
            key.utilization,
            key.entitlement,
        )
        for key in keys
    )
    return Table("Keys", KEY_COLUMNS, rows)


def _key_id_cell(key: KeyUsage, inventory_loaded: bool) -> str | None:
    if key.key_id is not None:
        return key.key_id
    if not inventory_loaded:
        return None
    return key_label(None, partial_key(key.partial_product_key) or "")


FINDING_COLUMNS = (
    Column("severity", "Severity"),
    Column("suppressed", "Suppressed"),
    Column("code", "Code"),
    Column("host", "Host"),
    Column("key_id", "Key ID"),
    Column("partial_product_key", "Partial key"),
    Column("message", "Message"),
    Column("remediation", "Remediation"),
    Column("affected_hosts", "Affected hosts", ColumnType.INTEGER),
    Column("hosts", "Hosts"),
    Column("suppression_reason", "Suppression reason"),
)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Sort active findings before suppressed ones, each from critical down to info, then by code, host and key."""
    return sorted(
        findings,
        key=lambda finding: (
            finding.suppressed,
            -finding.severity.rank,
            finding.code,
            finding.host or "",
            finding.key_id or "",
        ),
    )


def list_hosts(hosts: Sequence[str]) -> str:
    """Join host names for one cell, naming at most ``MAX_LISTED_HOSTS`` of them."""
    shown = ", ".join(hosts[:MAX_LISTED_HOSTS])
    rest = len(hosts) - MAX_LISTED_HOSTS
    return shown if rest <= 0 else f"{shown} and {rest} more"


def _findings_table(findings: Iterable[Finding]) -> Table:
    rows = tuple(
        (
            finding.severity.value,
            "yes" if finding.suppressed else "no",
            finding.code,
            finding.host,
            finding.key_id,
            partial_key(finding.partial_product_key),
            mask_product_keys(finding.message),
            mask_product_keys(finding.remediation),
            len(finding.hosts) if finding.hosts else (1 if finding.host else None),
            list_hosts(finding.hosts) if finding.hosts else None,
            mask_product_keys(finding.suppression_reason) if finding.suppressed else None,
        )
        for finding in sort_findings(findings)
    )
    return Table("Findings", FINDING_COLUMNS, rows)


HOST_COLUMNS = (
    Column("target", "Target"),
    Column("computer", "Computer"),
    Column("domain", "Domain"),
    Column("os", "Operating system"),
    Column("host_status", "Collection"),
    Column("collected_at", "Collected (UTC)", ColumnType.DATE),
    Column("application", "Application"),
    Column("product", "Product"),
    Column("channel", "Channel"),
    Column("partial_product_key", "Partial key"),
    Column("license_status", "License status"),
    Column("reason", "Status reason"),
    Column("grace_days", "Grace days left", ColumnType.DECIMAL),
    Column("kms_machine", "KMS host"),
    Column("key_id", "Inventory key"),
)


def host_order(host: HostResult) -> tuple[bool, str, str, str]:
    """Order hosts by computer name (case-insensitive), then target; hosts without a name come last.

    Reports list hosts in this order instead of the order results arrived in, so that
    two runs over the same fleet compare line by line.
    """
    name = host.computer_name
    return (name is None, (name or "").casefold(), host.target.casefold(), host.target)


def _hosts_table(hosts: Sequence[HostResult], key_index: KeyIndex, inventory_loaded: bool) -> Table:
    ordered = sorted(hosts, key=host_order)
    return Table("Hosts", HOST_COLUMNS, tuple(_host_rows(ordered, key_index, inventory_loaded)))


def _host_rows(
    hosts: Sequence[HostResult], key_index: KeyIndex, inventory_loaded: bool
) -> Iterator[tuple[CellValue, ...]]:
    for host in hosts:
        state = host.state
        if state is None:
            yield (host.target, None, None, None, host.status.value, None) + (None,) * 9
            continue

        computer = state.computer
        identity = (
            host.target,
            computer.name,
            computer.domain,
            computer.os_caption,
            host.status.value,
            to_naive_utc(state.collected_at),
        )
        if not state.records:
            yield identity + (None,) * 9
            continue

        for record in state.records:
            yield identity + _record_cells(record, state.kms_machine, key_index, inventory_loaded)


def grace_days(record: LicenseRecord) -> float | None:
    """Return the days of grace left as a fraction (372 minutes is 0.258); None when not counting down.

    Renderers show one decimal, so a grace period of a few hours does not read as 0 days.
    """
    if record.grace_minutes is None or record.grace_minutes <= 0:
        return None
    return record.grace_minutes / 1440


def _record_cells(
    record: LicenseRecord, host_kms: str | None, key_index: KeyIndex, inventory_loaded: bool
) -> tuple[CellValue, ...]:
    key = key_index.find(record.partial_product_key)
    return (
        record.application.value,
        record.name,
        record.channel.value,
        partial_key(record.partial_product_key),
        None if record.license_status is None else record.license_status.label,
        record.license_status_reason,
        grace_days(record),
        record.kms_machine or (host_kms if record.channel is Channel.KMS_CLIENT else None),
        _inventory_key(record, key, inventory_loaded),
    )


def _inventory_key(record: LicenseRecord, key: KeyUsage | None, inventory_loaded: bool) -> str | None:
    if key is not None and key.key_id is not None:
        return key.key_id
    if inventory_loaded and record.channel is Channel.MAK and record.partial_product_key:
        return key_label(None, partial_key(record.partial_product_key) or "")
    return None


UNREACHABLE_COLUMNS = (
    Column("target", "Target"),
    Column("status", "Status"),
    Column("reason", "Reason"),
)


def _unreachable_table(hosts: Sequence[HostResult]) -> Table:
    rows = tuple(
        (host.target, host.status.value, mask_product_keys(host.error) or "no reason was recorded")
        for host in sorted(hosts, key=host_order)
        if host.status is not HostStatus.OK or host.state is None
    )
    return Table("Unreachable", UNREACHABLE_COLUMNS, rows)


def _history_table(trends: Sequence[KeyTrendPoint], inventory_loaded: bool) -> Table | None:
    if not trends:
        return None

    labels: dict[tuple[str | None, str], str] = {}
    scans: dict[int, datetime] = {}
    activated: dict[tuple[int, str], int] = {}
    for point in trends:
        partial = partial_key(point.partial_product_key) or ""
        label = labels.setdefault((point.key_id, partial), key_label(point.key_id, partial, inventory_loaded))
        scans.setdefault(point.scan_id, point.scan_started_at)
        activated[(point.scan_id, label)] = point.activated

    ordered = [labels[identity] for identity in sorted(labels, key=history_key_order)]
    key_columns = tuple(Column(f"key:{index}", label, ColumnType.INTEGER) for index, label in enumerate(ordered))
    columns = (Column("scan_id", "Scan", ColumnType.INTEGER), Column("started", "Started (UTC)", ColumnType.DATE))
    rows = tuple(
        (scan_id, to_naive_utc(started)) + tuple(activated.get((scan_id, label)) for label in ordered)
        for scan_id, started in sorted(scans.items(), key=lambda item: (to_naive_utc(item[1]), item[0]))
    )
    return Table("History", columns + key_columns, rows)


def history_key_order(identity: tuple[str | None, str]) -> tuple[int, str, str, str]:
    """Order history keys by key ID (case-insensitive), then the MAKs without one by partial key."""
    key_id, partial = identity
    if key_id:
        return (0, key_id.casefold(), key_id, partial)
    return (1, partial, "", "")
