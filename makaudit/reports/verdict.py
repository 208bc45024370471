"""The helpdesk's one-line verdict on a host, and the findings that concern it."""

from __future__ import annotations

from typing import Iterable

from makaudit.model import Channel, Finding, HostResult, HostStatus, LicenseRecord, LicenseStatus
from makaudit.reports.redact import mask_product_keys, partial_key
from makaudit.reports.usage import KeyIndex, UsageState, usage_state

_NOT_COLLECTED = {
    HostStatus.UNREACHABLE: "the host could not be reached",
    HostStatus.AUTH_FAILED: "authentication failed",
    HostStatus.TIMEOUT: "the collection timed out",
    HostStatus.ERROR: "the collection failed",
    HostStatus.OK: "no licensing data was returned",
}

_NOTIFICATION_REASONS = {
    "0xC004F009": "grace time expired",
    "0xC004F200": "non-genuine",
}

_ACTIVATED_BY = {
    Channel.RETAIL: "with a retail key",
    Channel.OEM: "with an OEM key",
    Channel.AVMA: "by Automatic VM Activation",
    Channel.EVAL: "as an evaluation",
    Channel.SUBSCRIPTION: "by subscription",
    Channel.KMS_HOST: "as a KMS host",
    Channel.UNKNOWN: "(channel unknown)",
}


def host_verdict(host: HostResult, keys: KeyIndex, threshold: float, *, inventory_loaded: bool) -> str:
    """Return one plain sentence on whether the host is activated, and how or why not.

    Without an inventory (``inventory_loaded`` False), a MAK is named by its partial key only.
    """
    if host.state is None or host.status is not HostStatus.OK:
        reason = _NOT_COLLECTED[host.status]
        return f"Not collected: {reason}" + (f" ({mask_product_keys(host.error)})" if host.error else "")

    records = [record for record in host.state.records if record.partial_product_key]
    if not records:
        return "No verdict: no product with an installed product key was reported"

    records.sort(key=_windows_first)
    not_activated = [record for record in records if not record.is_activated]
    if not_activated:
        first = not_activated[0]
        more = len(not_activated) - 1
        tail = f" (and {more} other product{'s' if more > 1 else ''} not activated)" if more else ""
        return f"Not activated: {_not_activated_phrase(first)}{tail}"

    if len(records) == 1:
        return "Activated " + _activated_phrase(records[0], keys, threshold, inventory_loaded)
    parts = [
        f"{record.application.value} {_activated_phrase(record, keys, threshold, inventory_loaded)}" for record in records
    ]
    return "Activated: " + "; ".join(parts)


def _windows_first(record: LicenseRecord) -> tuple[int, str]:
    return (0 if record.application.value == "Windows" else 1, record.name)


def _not_activated_phrase(record: LicenseRecord) -> str:
    product = record.application.value if record.application.value != "Other" else record.name
    status = record.license_status
    if status is None:
        return f"{product} reports no license status"
    if status is LicenseStatus.UNLICENSED:
        phrase = f"{product} is unlicensed"
    else:
        phrase = f"{product} is in {status.label}"

    details = []
    if record.license_status_reason:
        code = record.license_status_reason
        meaning = _NOTIFICATION_REASONS.get("0x" + code[2:].upper() if code.lower().startswith("0x") else code)
        details.append(f"{code}, {meaning}" if meaning else f"reason {code}")
    if status.is_grace and record.grace_minutes:
        days = record.grace_minutes / 1440
        details.append(f"{days:,.1f} day{'' if round(days, 1) == 1 else 's'} of grace left")
    return phrase + (f" ({'; '.join(details)})" if details else "")


def _activated_phrase(record: LicenseRecord, keys: KeyIndex, threshold: float, inventory_loaded: bool) -> str:
    if record.channel is Channel.MAK:
        return _mak_phrase(record, keys, threshold, inventory_loaded)
    if record.channel is Channel.KMS_CLIENT:
        return f"by KMS host {record.kms_machine}" if record.kms_machine else "by KMS"
    return _ACTIVATED_BY[record.channel]


def _mak_phrase(record: LicenseRecord, keys: KeyIndex, threshold: float, inventory_loaded: bool) -> str:
    key = keys.find(record.partial_product_key)
    if key is None or key.key_id is None:
        partial = partial_key(record.partial_product_key)
        if not inventory_loaded:
            return f"with a MAK ending in {partial} (no inventory loaded to match it)"
        return f"with MAK {partial}, which is not in the inventory"

    phrase = f"with MAK {key.key_id}"
    if key.key_status and key.key_status.lower() in ("revoked", "retired"):
        return f"{phrase}, which is {key.key_status.lower()} in the inventory"

    used = f"{key.activated} of {key.allotment}"
    state = usage_state(key, threshold)
    if state is UsageState.OVER:
        return f"{phrase}, which is over its allotment ({used} activations)"
    if state is UsageState.NEAR:
        return f"{phrase}, which is near its allotment ({used} activations)"
    if state is UsageState.OK:
        return f"{phrase} ({used} activations used)"
    return f"{phrase} (no allotment in the inventory)"


def host_names(host: HostResult) -> set[str]:
    """Return the lower-case names a finding may use for ``host``: target, computer and DNS name."""
    names = {host.target.lower()}
    if host.state is not None:
        computer = host.state.computer
        names.update(name.lower() for name in (computer.name, computer.dns_host_name) if name)
    return names


def findings_for_host(host: HostResult, findings: Iterable[Finding]) -> list[Finding]:
    """Return the findings naming ``host``, directly or in their list of affected hosts: active ones first, each worst first."""
    names = host_names(host)
    matched = [
        finding
        for finding in findings
        if (finding.host and finding.host.lower() in names) or any(name.lower() in names for name in finding.hosts)
    ]
    return sorted(matched, key=lambda finding: (finding.suppressed, -finding.severity.rank))
