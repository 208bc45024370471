"""A small fleet built from the shared records, with keys over, near and under their allotment."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from makaudit.model import (
    AnalysisResult,
    Application,
    Channel,
    ComputerIdentity,
    EndpointState,
    Finding,
    HostResult,
    HostStatus,
    KeyTrendPoint,
    KeyUsage,
    LicenseRecord,
    LicenseStatus,
    ProductPosition,
    RecordSource,
    Severity,
)
from makaudit.reports.model import ScanInfo

GENERATED = datetime(2026, 12, 4, 19, 40, tzinfo=timezone.utc)
COLLECTED = datetime(2026, 12, 4, 19, 39, 58, tzinfo=timezone.utc)

SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://x","y")'


def windows(channel: Channel, partial: str | None, status: LicenseStatus | None, **extra: object) -> LicenseRecord:
    return LicenseRecord(
        application=Application.WINDOWS,
        name=extra.pop("name", "Windows(R), Enterprise edition"),
        description=f"Windows(R) Operating System, {channel.value} channel",
        channel=channel,
        partial_product_key=partial,
        license_status=status,
        source=RecordSource.WMI,
        **extra,
    )


def office(channel: Channel, partial: str, status: LicenseStatus, **extra: object) -> LicenseRecord:
    return LicenseRecord(
        application=Application.OFFICE,
        name=extra.pop("name", "Office 21, Office21ProPlus2021VL_MAK_AE edition"),
        description="Office 21, VOLUME_MAK channel",
        channel=channel,
        partial_product_key=partial,
        license_status=status,
        source=RecordSource.WMI,
        **extra,
    )


def host(name: str, *records: LicenseRecord, kms: str | None = None, os_caption: str = "Microsoft Windows 11 Enterprise") -> HostResult:
    computer = ComputerIdentity(name=name, dns_host_name=f"{name.lower()}.corp.example", domain="corp.example", os_caption=os_caption)
    state = EndpointState(computer=computer, collected_at=COLLECTED, records=records, kms_machine=kms)
    return HostResult(target=f"{name.lower()}.corp.example", status=HostStatus.OK, state=state, duration_seconds=1.5)


def sample_hosts() -> tuple[HostResult, ...]:
    return (
        host("PC-0001", windows(Channel.MAK, "7QJ2K", LicenseStatus.LICENSED, grace_minutes=0)),
        host("PC-0002", windows(Channel.MAK, "7QJ2K", LicenseStatus.LICENSED)),
        host("PC-0003", windows(Channel.MAK, "7qj2k", LicenseStatus.LICENSED)),
        host(
            "PC-0004",
            windows(Channel.KMS_CLIENT, "3V66T", LicenseStatus.NOTIFICATION, license_status_reason="0xC004F009"),
            office(Channel.MAK, "H8Q99", LicenseStatus.LICENSED),
            kms="kms01.corp.example:1688",
        ),
        host("PC-0005", windows(Channel.KMS_CLIENT, "3V66T", LicenseStatus.LICENSED, kms_machine="kms01.corp.example:1688", grace_minutes=259000)),
        host("PC-0006", windows(Channel.MAK, "ZZZZZ", LicenseStatus.LICENSED)),
        host("PC-0007", windows(Channel.MAK, "PRO42", LicenseStatus.OOB_GRACE, grace_minutes=43200)),
        host("PC-0008"),
        host(SCRIPT, windows(Channel.RETAIL, "RET11", LicenseStatus.LICENSED, name=FORMULA)),
        host("PC-CTRL", windows(Channel.OEM, "OEM01", LicenseStatus.LICENSED, name="Windows\x00 Pro\x07 edition")),
        HostResult(target="10.0.0.9", status=HostStatus.UNREACHABLE, error="connection refused on port 5985"),
        HostResult(target="pc-0010.corp.example", status=HostStatus.AUTH_FAILED, error="NTLM authentication failed for CORP\\audit"),
        HostResult(target="pc-0011.corp.example", status=HostStatus.TIMEOUT, error=None),
    )


def sample_keys() -> tuple[KeyUsage, ...]:
    return (
        KeyUsage("WIN-ENT-A", "7QJ2K", "Windows 11 Enterprise", 2, 3, 0, "active", entitlement=3),
        KeyUsage("OFF-PP-A", "H8Q99", "Office LTSC Professional Plus 2021", 10, 9, 0, "active"),
        KeyUsage("WIN-PRO-B", "PRO42", "Windows 11 Pro", 100, 0, 1, "active"),
        KeyUsage(None, "ZZZZZ", None, None, 1, 0, None),
    )


def sample_findings() -> tuple[Finding, ...]:
    return (
        Finding("HOST_UNREACHABLE", Severity.LOW, "10.0.0.9 could not be reached", "Check that WinRM listens", host="10.0.0.9"),
        Finding(
            "MAK_OVERUSE",
            Severity.CRITICAL,
            "WIN-ENT-A has 3 activations against an allotment of 2",
            "Request more activations",
            key_id="WIN-ENT-A",
            partial_product_key="7QJ2K",
            hosts=("PC-0001", "PC-0002", "PC-0003"),
        ),
        Finding("HOST_NOT_ACTIVATED", Severity.HIGH, "Windows is in Notification on PC-0004", "Run slmgr /ato", host="PC-0004"),
        Finding("MAK_NEAR_LIMIT", Severity.MEDIUM, "OFF-PP-A is at 90 %", "Plan more activations", key_id="OFF-PP-A", partial_product_key="H8Q99"),
        Finding("MAK_UNKNOWN_KEY", Severity.HIGH, "ZZZZZ is not in the inventory", "Add it to the inventory", host="PC-0006", partial_product_key="ZZZZZ"),
        Finding("HOST_STALE", Severity.INFO, FORMULA, SCRIPT, host=SCRIPT),
    )


def sample_trends() -> tuple[KeyTrendPoint, ...]:
    start = datetime(2026, 11, 1, 2, 0, tzinfo=timezone.utc)
    points = []
    for scan in range(3):
        started = start + timedelta(days=7 * scan)
        points.append(KeyTrendPoint(scan + 1, started, "WIN-ENT-A", "7QJ2K", 1 + scan))
        points.append(KeyTrendPoint(scan + 1, started, "OFF-PP-A", "H8Q99", 7 + scan))
    points.append(KeyTrendPoint(3, start + timedelta(days=14), None, "ZZZZZ", 1))
    return tuple(points)


def make_result(**changes: object) -> AnalysisResult:
    values: dict[str, object] = dict(
        generated_at=GENERATED,
        hosts=sample_hosts(),
        keys=sample_keys(),
        findings=sample_findings(),
        positions=(
            ProductPosition("Windows 11 Enterprise", 3, 3),
            ProductPosition("Office LTSC Professional Plus 2021", 8, 9),
            ProductPosition("Windows 11 Pro", None, 1),
        ),
        trends=sample_trends(),
        near_limit_threshold=0.9,
        inventory_loaded=True,
    )
    values.update(changes)
    return AnalysisResult(**values)  # type: ignore[arg-type]


SCAN = ScanInfo(
    started=datetime(2026, 12, 4, 19, 30, tzinfo=timezone.utc),
    finished=datetime(2026, 12, 4, 19, 39, 59, tzinfo=timezone.utc),
    targets=13,
    source="scan over winrm/ntlm",
)
