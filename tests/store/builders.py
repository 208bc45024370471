"""Builders of host results for the history store tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from makaudit.model import (
    Application,
    Channel,
    ComputerIdentity,
    EndpointError,
    EndpointState,
    HostResult,
    HostStatus,
    LicenseRecord,
    LicenseStatus,
    RecordSource,
)

BASE_TIME = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)


def windows_mak(partial_key: str, status: LicenseStatus = LicenseStatus.LICENSED) -> LicenseRecord:
    return LicenseRecord(
        application=Application.WINDOWS,
        name="Windows(R), Enterprise edition",
        description="Windows(R) Operating System, VOLUME_MAK channel",
        channel=Channel.MAK,
        partial_product_key=partial_key,
        license_status=status,
        source=RecordSource.WMI,
        license_status_reason="0x0",
        grace_minutes=0,
        application_id="55c92734-d682-4d71-983e-d6ec3f16059f",
        activation_id="e0c42288-980c-4788-a014-c080d2e1926e",
        product_key_channel="Volume:MAK",
    )


def office_kms_client(partial_key: str = "WFG99") -> LicenseRecord:
    return LicenseRecord(
        application=Application.OFFICE,
        name="Office 16, Office16ProPlus2021VL_KMS_Client_AE edition",
        description="Office 16, VOLUMELICENSE channel",
        channel=Channel.KMS_CLIENT,
        partial_product_key=partial_key,
        license_status=LicenseStatus.LICENSED,
        source=RecordSource.WMI,
        grace_minutes=259_200,
        evaluation_end=datetime(2027, 6, 30, tzinfo=timezone.utc),
        kms_machine="kms01.corp.example.test:1688",
    )


def ok_result(
    name: str,
    records: tuple[LicenseRecord, ...],
    collected_at: datetime,
    uuid: str | None = None,
    target: str | None = None,
    document: dict | None = None,
) -> HostResult:
    computer = ComputerIdentity(
        name=name,
        dns_host_name=name.lower(),
        domain="corp.example.test",
        os_caption="Microsoft Windows 11 Enterprise",
        os_version="10.0.22631",
        uuid=uuid,
        ui_culture="en-US",
    )
    state = EndpointState(
        computer=computer,
        collected_at=collected_at,
        records=records,
        errors=(EndpointError(source="ospp", message="Invalid class", code="0x80041010"),),
        kms_machine="kms01.corp.example.test",
        origin=target or name.lower(),
        document=document,
    )
    return HostResult(target=target or name.lower(), status=HostStatus.OK, state=state, duration_seconds=1.25)


def failed_result(target: str, status: HostStatus = HostStatus.UNREACHABLE, error: str = "connect failed: connection refused") -> HostResult:
    return HostResult(target=target, status=status, error=error, duration_seconds=0.5)


def later(minutes: int) -> datetime:
    return BASE_TIME + timedelta(minutes=minutes)
