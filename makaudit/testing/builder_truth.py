"""The ground truth of a built fleet: what a correct scan and analysis must report.

Counting follows the command-line contract: a MAK's ``activated`` is the number
of distinct hosts whose record for that key is Licensed with the MAK channel,
and ``installed_not_activated`` the hosts that hold the key in another state.
Only hosts a scan can collect count: hosts with an expected status other than
``ok`` are left out, and the fleet never injects a WMI failure on a host that
holds a MAK, so counts do not depend on how a collector falls back to slmgr.

The expected finding codes use these definitions, which the analysis may
refine with its own thresholds:

- ``HOST_UNREACHABLE``: the expected status is not ``ok``.
- ``HOST_NOT_ACTIVATED``: a keyed product is in any state other than Licensed.
- ``HOST_GRACE_ENDING``: a keyed product is in a grace state with less than
  three days (4,320 minutes) left.
- ``KMS_UNAPPROVED_HOST``: a KMS client points to a host other than the approved one.
- ``MAK_OVERUSE``: activated > allotment. ``MAK_NEAR_LIMIT``: activated is at
  least 90 % of the allotment and not above it.
- ``MAK_UNKNOWN_KEY``: a MAK on a host that the inventory lacks.
- ``MAK_REVOKED_KEY_IN_USE`` / ``MAK_RETIRED_KEY_IN_USE``: a revoked or retired
  key installed on any host, whatever its license status.
- ``MAK_ROTATION_DUE``: an active key whose rotate_by date has passed.
"""

from __future__ import annotations

import dataclasses

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from makaudit.model import HostStatus, LicenseStatus, format_utc

GROUND_TRUTH_FORMAT = "makaudit-fleet-ground-truth"
NEAR_LIMIT_UTILIZATION = 0.9
GRACE_ENDING_MINUTES = 3 * 24 * 60

_LICENSED_LABEL = LicenseStatus.LICENSED.label
_GRACE_LABELS = frozenset(status.label for status in LicenseStatus if status.is_grace)


@dataclass(frozen=True)
class ProductTruth:
    """One keyed product of a host, as the parsed license record must show it."""

    application: str
    name: str
    description: str
    channel: str
    """makaudit ``Channel`` value."""
    partial_product_key: str
    license_status: str
    license_status_code: int
    license_status_reason: str
    """LicenseStatusReason as ``0x4004F00C``."""
    grace_minutes: int
    kms_machine: str | None
    key_id: str | None
    """The inventory key ID for a MAK in the inventory, else None."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class HostTruth:
    """Expected scan result of one host."""

    target: str
    name: str
    uuid: str
    ui_culture: str
    status: HostStatus
    reason: str
    """Cause of the status: ``healthy`` or the injected fault."""
    products: tuple[ProductTruth, ...]
    findings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "name": self.name,
            "uuid": self.uuid,
            "ui_culture": self.ui_culture,
            "status": self.status.value,
            "reason": self.reason,
            "products": [product.to_dict() for product in self.products],
            "findings": list(self.findings),
        }


@dataclass(frozen=True)
class KeyTruth:
    """Expected usage of one MAK: an inventory key, or one the inventory lacks (``key_id`` None)."""

    key_id: str | None
    partial_product_key: str
    product: str
    allotment: int | None
    key_status: str | None
    rotate_by: date | None
    activated: int
    installed_not_activated: int
    activated_hosts: tuple[str, ...]
    installed_hosts: tuple[str, ...]
    """Hosts that have the key installed but are not activated with it."""
    categories: tuple[str, ...]
    findings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "partial_product_key": self.partial_product_key,
            "product": self.product,
            "allotment": self.allotment,
            "key_status": self.key_status,
            "rotate_by": None if self.rotate_by is None else self.rotate_by.isoformat(),
            "activated": self.activated,
            "installed_not_activated": self.installed_not_activated,
            "categories": list(self.categories),
            "findings": list(self.findings),
            "activated_hosts": list(self.activated_hosts),
            "installed_hosts": list(self.installed_hosts),
        }


@dataclass(frozen=True)
class GroundTruth:
    """The expected result of scanning and analysing the whole fleet."""

    seed: int
    generated_at: datetime
    approved_kms_hosts: tuple[str, ...]
    hosts: tuple[HostTruth, ...]
    keys: tuple[KeyTruth, ...]

    def host(self, name: str) -> HostTruth:
        """Return the host named ``name`` (case-insensitive)."""
        for host in self.hosts:
            if host.name.lower() == name.lower():
                return host
        raise KeyError(f"no host named {name!r} in the fleet")

    def key(self, partial_product_key: str) -> KeyTruth:
        """Return the MAK whose last five characters are ``partial_product_key``."""
        for key in self.keys:
            if key.partial_product_key == partial_product_key.upper():
                return key
        raise KeyError(f"no MAK ending in {partial_product_key!r} in the fleet")

    def keys_in(self, category: str) -> list[KeyTruth]:
        """Return the keys in ``category`` (``over_used``, ``near_limit``, ``unused``, ...)."""
        return [key for key in self.keys if category in key.categories]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": GROUND_TRUTH_FORMAT,
            "version": 1,
            "seed": self.seed,
            "generated_at": format_utc(self.generated_at),
            "approved_kms_hosts": list(self.approved_kms_hosts),
            "hosts": [host.to_dict() for host in self.hosts],
            "keys": [key.to_dict() for key in self.keys],
        }


def host_findings(status: HostStatus, products: tuple[ProductTruth, ...], approved_kms_hosts: tuple[str, ...]) -> tuple[str, ...]:
    """Return the finding codes expected for one host, by the definitions of this module."""
    if status is not HostStatus.OK:
        return ("HOST_UNREACHABLE",)

    findings: list[str] = []
    if any(product.license_status != _LICENSED_LABEL for product in products):
        findings.append("HOST_NOT_ACTIVATED")
    if any(product.license_status in _GRACE_LABELS and product.grace_minutes < GRACE_ENDING_MINUTES for product in products):
        findings.append("HOST_GRACE_ENDING")
    if any(
        product.kms_machine is not None and product.kms_machine.rsplit(":", 1)[0] not in approved_kms_hosts
        for product in products
    ):
        findings.append("KMS_UNAPPROVED_HOST")
    return tuple(findings)


def key_categories(
    key_id: str | None,
    allotment: int | None,
    key_status: str | None,
    rotate_by: date | None,
    activated: int,
    installed_not_activated: int,
    today: date,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return the categories and the expected finding codes of one MAK."""
    categories: list[str] = []
    findings: list[str] = []
    in_use = activated + installed_not_activated > 0

    if key_id is None:
        categories.append("unknown")
        findings.append("MAK_UNKNOWN_KEY")
    elif allotment is not None:
        if activated > allotment:
            categories.append("over_used")
            findings.append("MAK_OVERUSE")
        elif allotment > 0 and activated / allotment >= NEAR_LIMIT_UTILIZATION:
            categories.append("near_limit")
            findings.append("MAK_NEAR_LIMIT")
        elif activated > 0:
            categories.append("room")
        if not in_use:
            categories.append("unused")

    if key_status == "revoked" and in_use:
        categories.append("revoked_in_use")
        findings.append("MAK_REVOKED_KEY_IN_USE")
    if key_status == "retired" and in_use:
        categories.append("retired_in_use")
        findings.append("MAK_RETIRED_KEY_IN_USE")
    if key_status == "active" and rotate_by is not None and rotate_by < today:
        categories.append("rotation_due")
        findings.append("MAK_ROTATION_DUE")

    return tuple(categories), tuple(findings)
