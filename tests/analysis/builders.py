"""Builders of hosts, records and inventories for the analysis tests."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from makaudit.config import AuditConfig
from makaudit.inventory import Inventory, InventoryKey, KeyStatus
from makaudit.model import (
    Application,
    Channel,
    ComputerIdentity,
    EndpointState,
    HostResult,
    HostStatus,
    LicenseRecord,
    LicenseStatus,
    RecordSource,
)

NOW = datetime(2026, 12, 4, 19, 40, tzinfo=timezone.utc)
WINDOWS_MAK = "Windows(R), Enterprise edition"


def record(
    channel: Channel = Channel.MAK,
    partial_key: str | None = "7QJ2K",
    status: LicenseStatus | None = LicenseStatus.LICENSED,
    *,
    name: str = WINDOWS_MAK,
    grace_minutes: int | None = 0,
    kms_machine: str | None = None,
    application: Application = Application.WINDOWS,
) -> LicenseRecord:
    return LicenseRecord(
        application=application,
        name=name,
        description=f"Windows(R) Operating System, {channel.value} channel",
        channel=channel,
        partial_product_key=partial_key,
        license_status=status,
        source=RecordSource.WMI,
        grace_minutes=grace_minutes,
        kms_machine=kms_machine,
    )


def host(
    number: int,
    *records: LicenseRecord,
    collected_at: datetime = NOW,
    uuid: bool = True,
    target: str | None = None,
    kms_machine: str | None = None,
    dns_host_name: str | None = None,
) -> HostResult:
    computer = ComputerIdentity(
        name=f"PC-{number:04d}",
        uuid=f"4C4C4544-0000-0000-0000-{number:012d}" if uuid else None,
        dns_host_name=dns_host_name,
    )
    state = EndpointState(computer=computer, collected_at=collected_at, records=tuple(records), kms_machine=kms_machine)
    return HostResult(target=target or f"127.0.10.{number % 250}", status=HostStatus.OK, state=state)


def failed(target: str, status: HostStatus = HostStatus.UNREACHABLE, error: str | None = "connection refused") -> HostResult:
    return HostResult(target=target, status=status, error=error)


def key(
    partial_key: str = "7QJ2K",
    allotment: int = 100,
    *,
    key_id: str | None = None,
    product: str = "Windows 11 Enterprise",
    status: KeyStatus = KeyStatus.ACTIVE,
    entitlement: int | None = None,
    acquired: date | None = None,
    rotate_by: date | None = None,
) -> InventoryKey:
    return InventoryKey(
        key_id=key_id or f"MAK-{partial_key}",
        product=product,
        partial_product_key=partial_key,
        allotment=allotment,
        status=status,
        entitlement=entitlement,
        acquired=acquired,
        rotate_by=rotate_by,
    )


def inventory(*keys: InventoryKey) -> Inventory:
    return Inventory(keys=tuple(keys))


def mak_hosts(count: int, partial_key: str = "7QJ2K", status: LicenseStatus = LicenseStatus.LICENSED, start: int = 1) -> list[HostResult]:
    """Return ``count`` hosts, each with one MAK record of ``partial_key`` in ``status``."""
    return [host(start + offset, record(Channel.MAK, partial_key, status)) for offset in range(count)]


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


DEFAULT_CONFIG = AuditConfig()
