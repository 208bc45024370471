"""One table of cases per host finding code, with the boundary values."""

from __future__ import annotations

import pytest

from makaudit.analysis import analyse
from makaudit.config import AuditConfig
from makaudit.model import Channel, HostStatus, LicenseStatus, Severity

from analysis.builders import DEFAULT_CONFIG, NOW, days_ago, failed, host, inventory, key, record

DAY = 24 * 60


def findings_of(hosts, code, config=DEFAULT_CONFIG, stock=None):
    result = analyse(hosts, stock, config, NOW)
    return [finding for finding in result.findings if finding.code == code]


@pytest.mark.parametrize(
    ("status", "fires"),
    [
        (LicenseStatus.UNLICENSED, True),
        (LicenseStatus.OOB_GRACE, True),
        (LicenseStatus.OOT_GRACE, True),
        (LicenseStatus.NON_GENUINE_GRACE, True),
        (LicenseStatus.NOTIFICATION, True),
        (LicenseStatus.EXTENDED_GRACE, True),
        (LicenseStatus.LICENSED, False),
        (None, False),
    ],
)
def test_host_not_activated_by_status(status, fires):
    found = findings_of([host(1, record(Channel.MAK, "7QJ2K", status, grace_minutes=None))], "HOST_NOT_ACTIVATED", stock=inventory(key()))

    assert len(found) == (1 if fires else 0)
    if fires:
        assert found[0].severity is Severity.HIGH
        assert found[0].host == "PC-0001"
        assert found[0].key_id == "MAK-7QJ2K"
        assert status.label in found[0].message


def test_host_not_activated_needs_a_key():
    records = [record(Channel.UNKNOWN, None, LicenseStatus.UNLICENSED)]

    assert findings_of([host(1, *records)], "HOST_NOT_ACTIVATED") == []


def test_host_not_activated_once_per_product():
    duplicate = record(Channel.KMS_CLIENT, "2YT43", LicenseStatus.NOTIFICATION)
    office = record(Channel.KMS_CLIENT, "6MWKP", LicenseStatus.OOB_GRACE, name="Office 21, Office21ProPlus2021VL_KMS_Client_AE edition")

    found = findings_of([host(1, duplicate, duplicate, office)], "HOST_NOT_ACTIVATED")

    assert sorted(finding.partial_product_key for finding in found) == ["2YT43", "6MWKP"]
    assert all(finding.key_id is None for finding in found)
    assert all("KMS host" in finding.remediation for finding in found)


@pytest.mark.parametrize(
    ("status", "channel", "minutes", "severity"),
    [
        (LicenseStatus.OOB_GRACE, Channel.MAK, 7 * DAY - 1, Severity.HIGH),  # just under the threshold
        (LicenseStatus.OOB_GRACE, Channel.MAK, 7 * DAY, None),  # exactly at the threshold
        (LicenseStatus.OOT_GRACE, Channel.KMS_CLIENT, 0, Severity.HIGH),  # no grace left
        (LicenseStatus.EXTENDED_GRACE, Channel.MAK, 60, Severity.HIGH),
        (LicenseStatus.NOTIFICATION, Channel.MAK, 60, None),  # grace already over
        (LicenseStatus.OOB_GRACE, Channel.MAK, None, None),  # unknown grace
        (LicenseStatus.LICENSED, Channel.KMS_CLIENT, 7 * DAY - 1, Severity.MEDIUM),  # KMS activation expiring
        (LicenseStatus.LICENSED, Channel.KMS_CLIENT, 7 * DAY, None),
        (LicenseStatus.LICENSED, Channel.KMS_CLIENT, 0, None),  # 0 minutes on a Licensed product: permanent
        (LicenseStatus.LICENSED, Channel.MAK, 60, None),
    ],
)
def test_host_grace_ending_boundaries(status, channel, minutes, severity):
    partial = "2YT43" if channel is Channel.KMS_CLIENT else "7QJ2K"

    found = findings_of([host(1, record(channel, partial, status, grace_minutes=minutes))], "HOST_GRACE_ENDING")

    assert [finding.severity for finding in found] == ([] if severity is None else [severity])


def test_host_grace_ending_threshold_from_config():
    config = AuditConfig(grace_warning_days=30)
    hosts = [host(1, record(Channel.MAK, "7QJ2K", LicenseStatus.OOB_GRACE, grace_minutes=20 * DAY))]

    found = findings_of(hosts, "HOST_GRACE_ENDING", config)

    assert len(found) == 1
    assert "20.0 days" in found[0].message


@pytest.mark.parametrize(
    ("kms_machine", "approved", "severity"),
    [
        ("kms01.corp.example:1688", ("kms01.corp.example",), None),
        ("KMS01.Corp.Example:1688", ("kms01.corp.example",), None),  # names compare case-insensitively
        ("kms01.corp.example.:1688", ("kms01.corp.example",), None),  # trailing dot of a DNS name
        ("kms01.corp.example:1688", ("kms01.corp.example:1688",), None),
        ("kms01.corp.example", ("kms01.corp.example:1688",), None),  # no port means 1688
        ("kms01.corp.example:1700", ("kms01.corp.example:1688",), Severity.HIGH),  # the entry pins the port
        ("kms99.corp.example:1688", ("kms01.corp.example",), Severity.HIGH),
        ("kms99.corp.example:1688", (), None),  # no approved list: only emulators are flagged
        ("127.0.0.1:1688", (), Severity.CRITICAL),
        ("127.0.0.2", ("kms01.corp.example",), Severity.CRITICAL),
        ("[::1]:1688", (), Severity.CRITICAL),
        ("::1", (), Severity.CRITICAL),
        ("localhost:1688", (), Severity.CRITICAL),
        ("PC-0001:1688", (), Severity.CRITICAL),  # the client itself
        ("127.0.0.1:1688", ("127.0.0.1",), None),  # explicitly approved
    ],
)
def test_kms_unapproved_host_cases(kms_machine, approved, severity):
    config = AuditConfig(approved_kms_hosts=approved)
    client = record(Channel.KMS_CLIENT, "2YT43", LicenseStatus.LICENSED, grace_minutes=180 * DAY, kms_machine=kms_machine)

    found = findings_of([host(1, client)], "KMS_UNAPPROVED_HOST", config)

    assert [finding.severity for finding in found] == ([] if severity is None else [severity])
    if found:
        assert kms_machine in found[0].message
        assert found[0].host == "PC-0001"


def test_kms_machine_wide_value_is_the_fallback():
    client = record(Channel.KMS_CLIENT, "2YT43", LicenseStatus.LICENSED, grace_minutes=180 * DAY)
    mak = record(Channel.MAK, "7QJ2K", LicenseStatus.LICENSED, kms_machine="127.0.0.1")

    found = findings_of([host(1, client, mak, kms_machine="127.0.0.1:1688")], "KMS_UNAPPROVED_HOST")

    assert len(found) == 1
    assert found[0].partial_product_key == "2YT43"


def test_kms_host_machine_may_point_to_itself():
    kms_host = record(Channel.KMS_HOST, "CCCCC", LicenseStatus.LICENSED)
    office = record(Channel.KMS_CLIENT, "6MWKP", LicenseStatus.LICENSED, grace_minutes=180 * DAY, kms_machine="pc-0001.corp.example")

    found = findings_of([host(1, kms_host, office, dns_host_name="PC-0001.corp.example")], "KMS_UNAPPROVED_HOST")

    assert found == []


def test_kms_unparsable_address_is_ignored(caplog):
    client = record(Channel.KMS_CLIENT, "2YT43", LicenseStatus.LICENSED, grace_minutes=DAY * 100, kms_machine="kms01:port")

    found = findings_of([host(1, client)], "KMS_UNAPPROVED_HOST", AuditConfig(approved_kms_hosts=("kms01",)))

    assert found == []
    assert "kms01:port" in caplog.text


@pytest.mark.parametrize(
    ("status", "error", "expected"),
    [
        (HostStatus.UNREACHABLE, "connection refused", "connection refused"),
        (HostStatus.AUTH_FAILED, "401 Unauthorized.", "401 Unauthorized."),
        (HostStatus.TIMEOUT, "no answer within 120 s", "no answer within 120 s"),
        (HostStatus.ERROR, None, "no reason was recorded"),
    ],
)
def test_host_unreachable_carries_reason(status, error, expected):
    found = findings_of([failed("srv-01:5985", status, error)], "HOST_UNREACHABLE")

    assert len(found) == 1
    assert found[0].severity is Severity.MEDIUM
    assert found[0].host == "srv-01:5985"
    assert f"({status.value}): {expected}" in found[0].message
    assert found[0].message.endswith(".")
    assert not found[0].message.endswith("..")


def test_host_ok_is_not_unreachable():
    assert findings_of([host(1, record())], "HOST_UNREACHABLE") == []


@pytest.mark.parametrize(
    ("age_days", "stale_days", "fires"),
    [
        (14, 14, False),  # exactly the allowed age
        (14.01, 14, True),
        (3, 14, False),
        (2, 1, True),
    ],
)
def test_host_stale_boundaries(age_days, stale_days, fires):
    hosts = [host(1, record(), collected_at=days_ago(age_days))]

    found = findings_of(hosts, "HOST_STALE", AuditConfig(stale_days=stale_days))

    assert len(found) == (1 if fires else 0)
    if fires:
        assert found[0].severity is Severity.LOW


def test_host_stale_accepts_naive_times():
    hosts = [host(1, record(), collected_at=days_ago(20).replace(tzinfo=None))]

    assert len(findings_of(hosts, "HOST_STALE")) == 1


@pytest.mark.parametrize(
    ("records", "fires"),
    [
        ([], True),
        ([record(Channel.UNKNOWN, None, LicenseStatus.UNLICENSED)], True),  # products without an installed key
        ([record(Channel.OEM, "BBBBB")], False),
        ([record(Channel.KMS_CLIENT, "2YT43", LicenseStatus.NOTIFICATION)], False),
    ],
)
def test_host_no_product_key_cases(records, fires):
    found = findings_of([host(1, *records)], "HOST_NO_PRODUCT_KEY")

    assert len(found) == (1 if fires else 0)
    if fires:
        assert found[0].severity is Severity.MEDIUM


def test_failed_host_has_no_product_key_finding():
    assert findings_of([failed("srv-01")], "HOST_NO_PRODUCT_KEY") == []


def test_grace_counts_from_now_not_from_collection():
    twelve_days = 12 * 24 * 60
    fresh = host(1, record(Channel.MAK, "7QJ2K", LicenseStatus.OOB_GRACE, grace_minutes=twelve_days))
    ten_days_old = host(2, record(Channel.MAK, "7QJ2K", LicenseStatus.OOB_GRACE, grace_minutes=twelve_days), collected_at=days_ago(10))

    found = findings_of([fresh, ten_days_old], "HOST_GRACE_ENDING")

    assert [finding.host for finding in found] == [ten_days_old.state.computer.name]
    assert "2.0 days" in found[0].message or "2 days" in found[0].message
