"""Findings about MAKs and products: overuse, keys near their limit, unknown, revoked, retired or due keys, shortfalls.

These rules run once per key or product, never per host: the per-host counting
happened in :mod:`makaudit.analysis.keys`.
"""

from __future__ import annotations

from datetime import date, timedelta

from makaudit.analysis.frames import FleetFrames
from makaudit.analysis.keys import KeyTable
from makaudit.config import AuditConfig
from makaudit.inventory import Inventory, InventoryKey, KeyStatus
from makaudit.model import Finding, KeyUsage, ProductPosition, Severity

_REPLACE_KEY = (
    "Install a valid MAK on each listed host (slmgr /ipk, then slmgr /ato; ospp.vbs /inpkey and /act for Office) "
    "and confirm that it activates."
)


def key_findings(
    table: KeyTable, frames: FleetFrames, inventory: Inventory | None, config: AuditConfig, today: date
) -> list[Finding]:
    """Return the findings about each key of the usage table and each inventory key."""
    findings: list[Finding] = []
    keys_by_partial = {} if inventory is None else {key.partial_product_key: key for key in inventory.keys}
    in_use = [usage for usage in table.usages if usage.activated + usage.installed_not_activated > 0]

    installed_hosts = table.hosts_of(frames, [usage.partial_product_key for usage in in_use], licensed_only=False)
    overused = [usage.partial_product_key for usage in table.usages if _is_overused(usage)]
    activated_hosts = table.hosts_of(frames, overused, licensed_only=True)

    for usage in table.usages:
        partial = usage.partial_product_key
        key = keys_by_partial.get(partial)

        if key is None:
            if inventory is not None and partial in installed_hosts:
                findings.append(_unknown_key(usage, installed_hosts[partial]))
            continue

        using_hosts = installed_hosts.get(partial, ())
        findings += _allotment_findings(usage, config, activated_hosts.get(partial, ()), using_hosts)
        if using_hosts:
            findings += _status_findings(usage, key, using_hosts)
        rotation = _rotation_due(key, config, today, using_hosts)
        if rotation is not None:
            findings.append(rotation)
    return findings


def _describe(usage: KeyUsage) -> str:
    return f"MAK {usage.key_id} ({usage.product}, ending in {usage.partial_product_key})"


def _is_overused(usage: KeyUsage) -> bool:
    return usage.allotment is not None and usage.activated > usage.allotment


def _allotment_findings(
    usage: KeyUsage, config: AuditConfig, activated_hosts: tuple[str, ...], using_hosts: tuple[str, ...]
) -> list[Finding]:
    """Return MAK_OVERUSE, listing the activated hosts that used up the allotment, or MAK_NEAR_LIMIT, listing every host with the key."""
    allotment = usage.allotment
    if allotment is None:
        return []

    if usage.activated > allotment:
        return [
            Finding(
                code="MAK_OVERUSE",
                severity=Severity.CRITICAL,
                message=(
                    f"{_describe(usage)} is activated on {usage.activated} hosts, "
                    f"{usage.activated - allotment} more than its allotment of {allotment}."
                ),
                remediation=(
                    "Request additional activations for this MAK from Microsoft licensing support, or move the "
                    "excess hosts to another MAK or to KMS activation."
                ),
                key_id=usage.key_id,
                partial_product_key=usage.partial_product_key,
                hosts=activated_hosts,
            )
        ]

    # Division, not a product with the threshold, so that 90 of 100 equals 0.9 exactly.
    if allotment > 0 and usage.activated / allotment >= config.near_limit_threshold:
        return [
            Finding(
                code="MAK_NEAR_LIMIT",
                severity=Severity.HIGH,
                message=(
                    f"{_describe(usage)} has used {usage.activated} of its {allotment} activations "
                    f"({usage.activated / allotment:.0%}); {allotment - usage.activated} remain."
                ),
                remediation=(
                    "Request more activations before the MAK runs out, or plan new deployments on another MAK "
                    "or on KMS activation."
                ),
                key_id=usage.key_id,
                partial_product_key=usage.partial_product_key,
                hosts=using_hosts,
            )
        ]
    return []


def _unknown_key(usage: KeyUsage, hosts: tuple[str, ...]) -> Finding:
    product = f" ({usage.product})" if usage.product else ""
    return Finding(
        code="MAK_UNKNOWN_KEY",
        severity=Severity.HIGH,
        message=(
            f"A MAK ending in {usage.partial_product_key}{product} is installed on {len(hosts)} host(s), "
            f"{usage.activated} of them activated, but it is not in the inventory."
        ),
        remediation=(
            "If the organisation owns this MAK, add it to the inventory with its allotment; otherwise replace it "
            "on the listed hosts with an inventoried MAK or the KMS client setup key."
        ),
        partial_product_key=usage.partial_product_key,
        hosts=hosts,
    )


def _status_findings(usage: KeyUsage, key: InventoryKey, hosts: tuple[str, ...]) -> list[Finding]:
    if key.status in (KeyStatus.REVOKED, KeyStatus.COMPROMISED):
        return [
            Finding(
                code="MAK_REVOKED_KEY_IN_USE",
                severity=Severity.CRITICAL,
                message=f"{_describe(usage)} is marked {key.status.value} but is installed on {len(hosts)} host(s).",
                remediation=_REPLACE_KEY + " Microsoft can block a revoked or leaked key at any time.",
                key_id=usage.key_id,
                partial_product_key=usage.partial_product_key,
                hosts=hosts,
            )
        ]

    if key.status is KeyStatus.RETIRED:
        return [
            Finding(
                code="MAK_RETIRED_KEY_IN_USE",
                severity=Severity.MEDIUM,
                message=(
                    f"{_describe(usage)} is retired but still installed on {len(hosts)} host(s), "
                    "so the rotation to its replacement is not finished."
                ),
                remediation=_REPLACE_KEY,
                key_id=usage.key_id,
                partial_product_key=usage.partial_product_key,
                hosts=hosts,
            )
        ]
    return []


def _rotation_due(key: InventoryKey, config: AuditConfig, today: date, hosts: tuple[str, ...]) -> Finding | None:
    """Return MAK_ROTATION_DUE for an active key past its rotate_by date (medium) or older than the maximum age (low).

    ``hosts`` are the hosts with the key installed, activated or not: the ones the rotation must reach.
    """
    if key.status is not KeyStatus.ACTIVE:
        return None

    description = f"MAK {key.key_id} ({key.product}, ending in {key.partial_product_key})"
    remediation = (
        "Obtain a new MAK, deploy it, mark this key retired in the inventory and give the new key a rotate_by date."
    )

    if key.rotate_by is not None and key.rotate_by < today:
        return Finding(
            code="MAK_ROTATION_DUE",
            severity=Severity.MEDIUM,
            message=f"{description} was due for rotation on {key.rotate_by.isoformat()}.",
            remediation=remediation,
            key_id=key.key_id,
            partial_product_key=key.partial_product_key,
            hosts=hosts,
        )

    max_age = config.rotation_max_age_days
    if max_age is not None and key.acquired is not None and key.acquired + timedelta(days=max_age) < today:
        return Finding(
            code="MAK_ROTATION_DUE",
            severity=Severity.LOW,
            message=(
                f"{description} was acquired on {key.acquired.isoformat()}, "
                f"more than the configured maximum key age of {max_age} days ago."
            ),
            remediation=remediation,
            key_id=key.key_id,
            partial_product_key=key.partial_product_key,
            hosts=hosts,
        )
    return None


def position_findings(positions: tuple[ProductPosition, ...]) -> list[Finding]:
    """Return LICENSE_SHORTFALL for each product deployed on more hosts than the licenses recorded."""
    findings = []
    for position in positions:
        if position.surplus is None or position.surplus >= 0:
            continue
        findings.append(
            Finding(
                code="LICENSE_SHORTFALL",
                severity=Severity.HIGH,
                message=(
                    f"{position.product} is installed with its MAKs on {position.deployed} hosts but the inventory "
                    f"records {position.entitlement} licenses, a shortfall of {-position.surplus}."
                ),
                remediation=(
                    "Buy the missing licenses or remove the product from hosts that do not need it, then update "
                    "the entitlement in the inventory."
                ),
            )
        )
    return findings
