"""Typed records shared by every layer: license records, endpoint states,
per-host results, and the analysis result (key usage and findings).

Values of the enums are the strings of the JSON result document, so that
``Channel.MAK.value == "MAK"`` is what scripts read.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping


class Channel(enum.StrEnum):
    """Activation channel of an installed product key."""

    MAK = "MAK"
    KMS_CLIENT = "KMS_CLIENT"
    KMS_HOST = "KMS_HOST"
    RETAIL = "RETAIL"
    OEM = "OEM"
    AVMA = "AVMA"
    EVAL = "EVAL"
    SUBSCRIPTION = "SUBSCRIPTION"
    UNKNOWN = "UNKNOWN"


class LicenseStatus(enum.IntEnum):
    """SoftwareLicensingProduct.LicenseStatus (codes 0 to 6)."""

    UNLICENSED = 0
    LICENSED = 1
    OOB_GRACE = 2
    OOT_GRACE = 3
    NON_GENUINE_GRACE = 4
    NOTIFICATION = 5
    EXTENDED_GRACE = 6

    @property
    def label(self) -> str:
        """The name the result document uses, such as ``OOBGrace``."""
        return _STATUS_LABELS[self]

    @classmethod
    def from_label(cls, label: str) -> "LicenseStatus":
        """Return the status named ``label`` (``Licensed``, ``OOBGrace``, ...)."""
        for status, text in _STATUS_LABELS.items():
            if text.lower() == label.strip().lower():
                return status
        raise ValueError(f"unknown license status {label!r}; expected one of {', '.join(_STATUS_LABELS.values())}")

    @property
    def is_grace(self) -> bool:
        return self in (self.OOB_GRACE, self.OOT_GRACE, self.NON_GENUINE_GRACE, self.EXTENDED_GRACE)


_STATUS_LABELS = {
    LicenseStatus.UNLICENSED: "Unlicensed",
    LicenseStatus.LICENSED: "Licensed",
    LicenseStatus.OOB_GRACE: "OOBGrace",
    LicenseStatus.OOT_GRACE: "OOTGrace",
    LicenseStatus.NON_GENUINE_GRACE: "NonGenuineGrace",
    LicenseStatus.NOTIFICATION: "Notification",
    LicenseStatus.EXTENDED_GRACE: "ExtendedGrace",
}


class Application(enum.StrEnum):
    """Product family, from the ApplicationID."""

    WINDOWS = "Windows"
    OFFICE = "Office"
    OTHER = "Other"


class RecordSource(enum.StrEnum):
    """Source of a license record: WMI data, slmgr text or ospp.vbs text."""

    WMI = "wmi"
    SLMGR = "slmgr"
    OSPP = "ospp"


class HostStatus(enum.StrEnum):
    """Outcome of collecting one host."""

    OK = "ok"
    UNREACHABLE = "unreachable"
    AUTH_FAILED = "auth_failed"
    TIMEOUT = "timeout"
    ERROR = "error"


class Severity(enum.StrEnum):
    """Finding severity, ordered from ``critical`` down to ``info``."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """4 for critical down to 0 for info, so that higher is worse."""
        return _SEVERITY_RANK[self]

    def at_least(self, other: "Severity") -> bool:
        return self.rank >= other.rank


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


def format_utc(moment: datetime | None) -> str | None:
    """Format a datetime as ISO 8601 UTC with ``Z``; naive values are taken as UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class LicenseRecord:
    """One product with an installed key on one host."""

    application: Application
    name: str
    description: str
    channel: Channel
    partial_product_key: str | None
    license_status: LicenseStatus | None
    source: RecordSource
    license_status_reason: str | None = None
    """LicenseStatusReason or the notification reason as ``0xC004F056``."""
    grace_minutes: int | None = None
    """GracePeriodRemaining, in minutes."""
    evaluation_end: datetime | None = None
    kms_machine: str | None = None
    """KMS host this product is pointed to or was activated by, as ``host`` or ``host:port``."""
    activation_id: str | None = None
    application_id: str | None = None
    product_key_channel: str | None = None
    """ProductKeyChannel as WMI or slmgr prints it (``Volume:MAK``), when known."""

    @property
    def license_status_code(self) -> int | None:
        return None if self.license_status is None else int(self.license_status)

    @property
    def is_activated(self) -> bool:
        return self.license_status is LicenseStatus.LICENSED

    def to_dict(self) -> dict[str, Any]:
        """Return the ``licenses`` entry of the result document."""
        return {
            "application": self.application.value,
            "name": self.name,
            "description": self.description,
            "channel": self.channel.value,
            "partial_product_key": self.partial_product_key,
            "license_status": None if self.license_status is None else self.license_status.label,
            "license_status_code": self.license_status_code,
            "license_status_reason": self.license_status_reason,
            "grace_minutes": self.grace_minutes,
            "evaluation_end": format_utc(self.evaluation_end),
            "kms_machine": self.kms_machine,
            "activation_id": self.activation_id,
            "source": self.source.value,
        }


# Firmware placeholders that many machines share, so they identify no machine: an all-zero or all-F
# UUID, and the value of boards whose vendor never set one (a widely reported AMI default).
_PLACEHOLDER_UUIDS = frozenset({"03000200-0400-0500-0006-000700080009"})


def machine_uuid_key(uuid: str | None) -> str | None:
    """Return ``uuid:`` and the upper-case machine UUID, or None for an empty or placeholder UUID."""
    if not uuid:
        return None
    value = uuid.strip().upper()
    digits = value.replace("-", "")
    if not digits or len(set(digits)) == 1 or value in _PLACEHOLDER_UUIDS:
        return None
    return "uuid:" + value


def computer_name_key(name: str | None) -> str | None:
    """Return ``name:`` and the upper-case computer name, the host part of a DNS name; None when empty.

    Exports name a host as PC01 or pc01.corp.example.test, so both must count as one host. A NetBIOS
    computer name has no dots; an IP address used as a name is kept whole.
    """
    if not name or not name.strip():
        return None
    value = name.strip()
    try:
        ipaddress.ip_address(value.strip("[]"))
        return "name:" + value.upper()
    except ValueError:
        return "name:" + value.split(".", 1)[0].upper()


@dataclass(frozen=True)
class ComputerIdentity:
    """Identity of an endpoint, from the ``computer`` object of the endpoint document."""

    name: str | None = None
    dns_host_name: str | None = None
    domain: str | None = None
    os_caption: str | None = None
    os_version: str | None = None
    uuid: str | None = None
    ui_culture: str | None = None

    @property
    def host_key(self) -> str | None:
        """Identity that survives renames: the machine UUID (unless a firmware placeholder), else the upper-case computer name."""
        return machine_uuid_key(self.uuid) or computer_name_key(self.name)


@dataclass(frozen=True)
class EndpointError:
    """A part of the collection that failed on the endpoint, or an action that printed an error."""

    source: str
    message: str
    code: str | None = None
    """HRESULT as ``0xC004F074`` when the message carries one."""

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "message": self.message, "code": self.code}


@dataclass(frozen=True)
class EndpointState:
    """The licensing state of one endpoint at one moment."""

    computer: ComputerIdentity
    collected_at: datetime | None
    records: tuple[LicenseRecord, ...]
    errors: tuple[EndpointError, ...] = ()
    kms_machine: str | None = None
    """Machine-wide KMS host from SoftwareLicensingService (registered or discovered)."""
    origin: str | None = None
    """File path or target the state was read from."""
    document: Mapping[str, Any] | None = field(default=None, compare=False, hash=False, repr=False)
    """The endpoint document itself, when the state came from one (kept for the history store)."""

    @property
    def has_keyed_product(self) -> bool:
        return any(record.partial_product_key for record in self.records)


@dataclass(frozen=True)
class HostResult:
    """Result of collecting one target: a state, or a failure with its category and message."""

    target: str
    status: HostStatus
    state: EndpointState | None = None
    error: str | None = None
    duration_seconds: float | None = None

    @property
    def computer_name(self) -> str | None:
        return None if self.state is None else self.state.computer.name

    @property
    def host_key(self) -> str:
        """Identity used to count a host once: machine UUID, else computer name, else the target."""
        if self.state is not None and self.state.computer.host_key:
            return self.state.computer.host_key
        return "target:" + self.target.lower()

    def to_dict(self) -> dict[str, Any]:
        """Return the ``hosts`` entry of the result document."""
        state = self.state
        return {
            "target": self.target,
            "computer_name": self.computer_name,
            "status": self.status.value,
            "error": self.error,
            "collected_at": None if state is None else format_utc(state.collected_at),
            "licenses": [] if state is None else [record.to_dict() for record in state.records],
            "errors": [] if state is None else [error.to_dict() for error in state.errors],
        }


@dataclass(frozen=True)
class KeyUsage:
    """Activations of one MAK against its allotment. ``key_id`` is None for a MAK missing from the inventory."""

    key_id: str | None
    partial_product_key: str
    product: str | None
    allotment: int | None
    activated: int
    installed_not_activated: int
    key_status: str | None
    entitlement: int | None = None

    @property
    def remaining(self) -> int | None:
        return None if self.allotment is None else self.allotment - self.activated

    @property
    def utilization(self) -> float | None:
        if not self.allotment:
            return None
        return round(self.activated / self.allotment, 4)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "partial_product_key": self.partial_product_key,
            "product": self.product,
            "allotment": self.allotment,
            "activated": self.activated,
            "installed_not_activated": self.installed_not_activated,
            "remaining": self.remaining,
            "utilization": self.utilization,
            "key_status": self.key_status,
            "entitlement": self.entitlement,
        }


@dataclass(frozen=True)
class Finding:
    """Something that needs a person's attention, with a severity and a remediation hint."""

    code: str
    severity: Severity
    message: str
    remediation: str
    host: str | None = None
    key_id: str | None = None
    partial_product_key: str | None = None
    hosts: tuple[str, ...] = ()
    """Every affected host, for findings about a key (a revoked MAK lists all its hosts)."""
    suppressed: bool = False
    """Accepted through a suppression in the configuration: still reported, but ignored by ``--fail-on``."""
    suppression_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "host": self.host,
            "key_id": self.key_id,
            "partial_product_key": self.partial_product_key,
            "message": self.message,
            "remediation": self.remediation,
            "hosts": list(self.hosts),
            "suppressed": self.suppressed,
            "suppression_reason": self.suppression_reason,
        }


@dataclass(frozen=True)
class ProductPosition:
    """Effective license position of one product: licenses owned against hosts deployed."""

    product: str
    entitlement: int | None
    deployed: int

    @property
    def surplus(self) -> int | None:
        """Positive when licenses are left over, negative on a shortfall, None without an entitlement."""
        return None if self.entitlement is None else self.entitlement - self.deployed

    def to_dict(self) -> dict[str, Any]:
        return {
            "product": self.product,
            "entitlement": self.entitlement,
            "deployed": self.deployed,
            "surplus": self.surplus,
        }


@dataclass(frozen=True)
class KeyTrendPoint:
    """Activated hosts of one key in one stored scan."""

    scan_id: int
    scan_started_at: datetime
    key_id: str | None
    partial_product_key: str
    activated: int
    hosts_added: tuple[str, ...] = ()
    hosts_removed: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "scan_id": self.scan_id,
            "started_at": format_utc(self.scan_started_at),
            "key_id": self.key_id,
            "partial_product_key": self.partial_product_key,
            "activated": self.activated,
            "hosts_added": list(self.hosts_added),
            "hosts_removed": list(self.hosts_removed),
        }


@dataclass(frozen=True)
class AnalysisResult:
    """Everything a report needs: the hosts, key usage, findings, positions and trends."""

    generated_at: datetime
    hosts: tuple[HostResult, ...]
    keys: tuple[KeyUsage, ...] = ()
    findings: tuple[Finding, ...] = ()
    positions: tuple[ProductPosition, ...] = ()
    trends: tuple[KeyTrendPoint, ...] = ()
    near_limit_threshold: float = 0.9
    """Utilization at which MAK_NEAR_LIMIT fires; reports colour keys with it."""
    inventory_loaded: bool = False
    """Whether an inventory was given; without one, every MAK is listed by its partial key only."""

    def to_document(self) -> dict[str, Any]:
        """Return the result document of the command-line contract (``--json``)."""
        return {
            "generated_at": format_utc(self.generated_at),
            "hosts": [host.to_dict() for host in self.hosts],
            "keys": [key.to_dict() for key in self.keys],
            "findings": [finding.to_dict() for finding in self.findings],
            "positions": [position.to_dict() for position in self.positions],
            "trends": [point.to_dict() for point in self.trends],
        }
