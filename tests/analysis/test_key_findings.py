"""One table of cases per key finding code, with the boundary values."""

from __future__ import annotations

from datetime import date

import pytest

from makaudit.analysis import analyse
from makaudit.config import AuditConfig
from makaudit.inventory import KeyStatus
from makaudit.model import Channel, LicenseStatus, Severity

from analysis.builders import DEFAULT_CONFIG, NOW, host, inventory, key, mak_hosts, record


def codes_of(result, code):
    return [finding for finding in result.findings if finding.code == code]


@pytest.mark.parametrize(
    ("activated", "allotment", "fires"),
    [
        (100, 100, False),  # exactly at the allotment: not overuse
        (101, 100, True),  # one over
        (1, 0, True),  # a key with no activations left
        (0, 0, False),
        (99, 100, False),
    ],
)
def test_mak_overuse_boundaries(activated, allotment, fires):
    result = analyse(mak_hosts(activated), inventory(key(allotment=allotment)), DEFAULT_CONFIG, NOW)

    overuse = codes_of(result, "MAK_OVERUSE")
    assert len(overuse) == (1 if fires else 0)
    if fires:
        finding = overuse[0]
        assert finding.severity is Severity.CRITICAL
        assert finding.key_id == "MAK-7QJ2K"
        assert finding.partial_product_key == "7QJ2K"
        assert len(finding.hosts) == activated
        assert f"{activated - allotment} more than its allotment of {allotment}" in finding.message


def test_mak_overuse_lists_only_activated_hosts():
    hosts = mak_hosts(3) + mak_hosts(2, status=LicenseStatus.OOB_GRACE, start=10)

    result = analyse(hosts, inventory(key(allotment=2)), DEFAULT_CONFIG, NOW)

    (finding,) = codes_of(result, "MAK_OVERUSE")
    assert finding.hosts == ("PC-0001", "PC-0002", "PC-0003")


@pytest.mark.parametrize(
    ("activated", "allotment", "threshold", "fires"),
    [
        (90, 100, 0.9, True),  # utilization exactly at the threshold
        (89, 100, 0.9, False),
        (100, 100, 0.9, True),  # exactly at the allotment is near the limit, not over
        (101, 100, 0.9, False),  # over the allotment is MAK_OVERUSE instead
        (9, 10, 0.9, True),
        (8, 10, 0.8, True),
        (7, 10, 0.8, False),
        (0, 0, 0.9, False),  # no allotment at all: no utilization
    ],
)
def test_mak_near_limit_boundaries(activated, allotment, threshold, fires):
    config = AuditConfig(near_limit_threshold=threshold)

    result = analyse(mak_hosts(activated), inventory(key(allotment=allotment)), config, NOW)

    near = codes_of(result, "MAK_NEAR_LIMIT")
    assert len(near) == (1 if fires else 0)
    if fires:
        assert near[0].severity is Severity.HIGH
        assert f"{activated} of its {allotment} activations" in near[0].message
    assert result.near_limit_threshold == threshold


def test_mak_near_limit_lists_hosts_using_key():
    hosts = mak_hosts(9) + mak_hosts(1, status=LicenseStatus.NOTIFICATION, start=10) + mak_hosts(2, "CCCCC", start=20)

    result = analyse(hosts, inventory(key(allotment=10), key("CCCCC")), DEFAULT_CONFIG, NOW)

    (finding,) = codes_of(result, "MAK_NEAR_LIMIT")
    assert finding.hosts == tuple(f"PC-{number:04d}" for number in range(1, 11))


@pytest.mark.parametrize(
    ("records", "with_inventory", "fires"),
    [
        ([record(Channel.MAK, "BBBBB")], True, True),
        ([record(Channel.MAK, "bbbbb", LicenseStatus.NOTIFICATION)], True, True),  # installed, not activated
        ([record(Channel.MAK, "7QJ2K")], True, False),  # the inventoried key
        ([record(Channel.KMS_CLIENT, "BBBBB")], True, False),  # not a MAK
        ([record(Channel.RETAIL, "BBBBB")], True, False),
        ([record(Channel.MAK, "BBBBB")], False, False),  # nothing to compare with
    ],
)
def test_mak_unknown_key_cases(records, with_inventory, fires):
    stock = inventory(key()) if with_inventory else None

    result = analyse([host(1, *records)], stock, DEFAULT_CONFIG, NOW)

    unknown = codes_of(result, "MAK_UNKNOWN_KEY")
    assert len(unknown) == (1 if fires else 0)
    if fires:
        assert unknown[0].severity is Severity.HIGH
        assert unknown[0].key_id is None
        assert unknown[0].partial_product_key == "BBBBB"
        assert unknown[0].hosts == ("PC-0001",)
        assert "not in the inventory" in unknown[0].message


@pytest.mark.parametrize(
    ("status", "code", "severity"),
    [
        (KeyStatus.REVOKED, "MAK_REVOKED_KEY_IN_USE", Severity.CRITICAL),
        (KeyStatus.COMPROMISED, "MAK_REVOKED_KEY_IN_USE", Severity.CRITICAL),
        (KeyStatus.RETIRED, "MAK_RETIRED_KEY_IN_USE", Severity.MEDIUM),
    ],
)
def test_revoked_and_retired_keys_list_every_host(status, code, severity):
    hosts = [
        host(1, record(Channel.MAK, "7QJ2K", LicenseStatus.LICENSED)),
        host(2, record(Channel.MAK, "7QJ2K", LicenseStatus.NOTIFICATION)),
        host(3, record(Channel.MAK, "7QJ2K", None)),
        host(4, record(Channel.MAK, "CCCCC", LicenseStatus.LICENSED)),
    ]
    stock = inventory(key(status=status), key("CCCCC"))

    result = analyse(hosts, stock, DEFAULT_CONFIG, NOW)

    (finding,) = codes_of(result, code)
    assert finding.severity is severity
    assert finding.hosts == ("PC-0001", "PC-0002", "PC-0003")
    assert "3 host(s)" in finding.message


@pytest.mark.parametrize("status", list(KeyStatus))
def test_key_status_without_hosts_is_quiet(status):
    result = analyse([host(1, record(Channel.MAK, "CCCCC"))], inventory(key(status=status), key("CCCCC")), DEFAULT_CONFIG, NOW)

    assert codes_of(result, "MAK_REVOKED_KEY_IN_USE") == []
    assert codes_of(result, "MAK_RETIRED_KEY_IN_USE") == []


@pytest.mark.parametrize(
    ("inventory_key", "max_age", "severity"),
    [
        (key(rotate_by=date(2026, 12, 3)), None, Severity.MEDIUM),  # passed yesterday
        (key(rotate_by=date(2026, 12, 4)), None, None),  # due today: not passed yet
        (key(acquired=date(2025, 12, 3)), 365, Severity.LOW),  # 366 days old
        (key(acquired=date(2025, 12, 4)), 365, None),  # exactly the maximum age
        (key(acquired=date(2020, 1, 1)), None, None),  # no maximum age configured
        (key(rotate_by=date(2026, 1, 1), acquired=date(2020, 1, 1)), 365, Severity.MEDIUM),
        (key(rotate_by=date(2026, 1, 1), status=KeyStatus.RETIRED), None, None),  # only active keys rotate
    ],
)
def test_mak_rotation_due_boundaries(inventory_key, max_age, severity):
    config = AuditConfig(rotation_max_age_days=max_age)

    result = analyse([], inventory(inventory_key), config, NOW)

    due = codes_of(result, "MAK_ROTATION_DUE")
    assert [finding.severity for finding in due] == ([] if severity is None else [severity])


@pytest.mark.parametrize(
    ("entitlements", "deployed", "surplus"),
    [
        ((10, None), 10, 0),
        ((10, 2), 13, -1),
        ((None, None), 5, None),
    ],
)
def test_license_shortfall_and_positions(entitlements, deployed, surplus):
    stock = inventory(
        key("7QJ2K", 1000, entitlement=entitlements[0]),
        key("CCCCC", 1000, entitlement=entitlements[1]),
        key("DDDDD", 1000, product="Office LTSC Professional Plus 2024", entitlement=50),
    )
    hosts = mak_hosts(deployed - 1) + mak_hosts(1, "CCCCC", LicenseStatus.UNLICENSED, start=500)

    result = analyse(hosts, stock, DEFAULT_CONFIG, NOW)

    windows = next(position for position in result.positions if position.product == "Windows 11 Enterprise")
    assert windows.deployed == deployed
    assert windows.surplus == surplus
    office = next(position for position in result.positions if position.product.startswith("Office"))
    assert (office.deployed, office.surplus) == (0, 50)
    shortfall = codes_of(result, "LICENSE_SHORTFALL")
    assert len(shortfall) == (1 if surplus is not None and surplus < 0 else 0)


def test_mak_rotation_due_lists_hosts_using_key():
    hosts = [
        host(1, record(Channel.MAK, "7QJ2K", LicenseStatus.LICENSED)),
        host(2, record(Channel.MAK, "7QJ2K", LicenseStatus.OOB_GRACE)),
        host(3, record(Channel.MAK, "CCCCC", LicenseStatus.LICENSED)),
        host(4, record(Channel.KMS_CLIENT, "7QJ2K", LicenseStatus.LICENSED)),
    ]
    stock = inventory(key(rotate_by=date(2026, 1, 1)), key("CCCCC"))

    result = analyse(hosts, stock, DEFAULT_CONFIG, NOW)

    (finding,) = codes_of(result, "MAK_ROTATION_DUE")
    assert finding.hosts == ("PC-0001", "PC-0002")


def test_mak_rotation_due_without_hosts_lists_none():
    result = analyse([], inventory(key(rotate_by=date(2026, 1, 1))), DEFAULT_CONFIG, NOW)

    (finding,) = codes_of(result, "MAK_ROTATION_DUE")
    assert finding.hosts == ()
