"""The keys table, the latest-result rule, sorting, suppressions and the exit status."""

from __future__ import annotations

from datetime import timedelta

import pytest

from makaudit.analysis import analyse, exit_status_for
from makaudit.config import AuditConfig, Suppression
from makaudit.model import Channel, Finding, HostStatus, LicenseStatus, Severity

from analysis.builders import DEFAULT_CONFIG, NOW, failed, host, inventory, key, record


def usage_of(result, partial_key):
    return next(usage for usage in result.keys if usage.partial_product_key == partial_key)


@pytest.mark.parametrize("channel", [Channel.KMS_CLIENT, Channel.RETAIL, Channel.OEM, Channel.AVMA, Channel.EVAL, Channel.KMS_HOST])
def test_other_channels_never_count_against_a_mak(channel):
    result = analyse([host(1, record(channel, "7QJ2K"))], inventory(key()), DEFAULT_CONFIG, NOW)

    usage = usage_of(result, "7QJ2K")
    assert (usage.activated, usage.installed_not_activated) == (0, 0)
    assert len(result.keys) == 1


def test_partial_keys_match_case_insensitively():
    hosts = [host(1, record(Channel.MAK, "7qj2k")), host(2, record(Channel.MAK, " 7QJ2K "))]

    result = analyse(hosts, inventory(key()), DEFAULT_CONFIG, NOW)

    assert [usage.activated for usage in result.keys] == [2]


def test_activated_wins_over_other_states_on_one_host():
    windows = record(Channel.MAK, "7QJ2K", LicenseStatus.LICENSED)
    stale_copy = record(Channel.MAK, "7QJ2K", LicenseStatus.OOB_GRACE)

    result = analyse([host(1, windows, stale_copy), host(2, stale_copy)], inventory(key()), DEFAULT_CONFIG, NOW)

    usage = usage_of(result, "7QJ2K")
    assert usage.activated == 1
    assert usage.installed_not_activated == 1


def test_latest_result_per_host_is_used():
    older = host(1, record(Channel.MAK, "7QJ2K", LicenseStatus.LICENSED), collected_at=NOW - timedelta(days=2), target="old-name")
    newer = host(1, record(Channel.MAK, "CCCCC", LicenseStatus.LICENSED), collected_at=NOW - timedelta(days=1), target="new-name")

    result = analyse([newer, older], inventory(key(), key("CCCCC")), DEFAULT_CONFIG, NOW)

    assert [host_result.target for host_result in result.hosts] == ["new-name"]
    assert usage_of(result, "7QJ2K").activated == 0
    assert usage_of(result, "CCCCC").activated == 1


def test_host_without_uuid_is_identified_by_name():
    first = host(7, record(Channel.MAK, "7QJ2K"), uuid=False, target="a", collected_at=NOW - timedelta(hours=1))
    second = host(7, record(Channel.MAK, "7QJ2K"), uuid=False, target="b")

    result = analyse([first, second], inventory(key()), DEFAULT_CONFIG, NOW)

    assert usage_of(result, "7QJ2K").activated == 1
    assert [host_result.target for host_result in result.hosts] == ["b"]


def test_failed_result_does_not_replace_a_state_of_the_same_target():
    ok = host(1, record(), uuid=False, target="srv")
    # A failed result has no computer name, so it is identified by its target.
    result = analyse([ok, failed("srv"), failed("SRV")], inventory(key()), DEFAULT_CONFIG, NOW)

    assert [host_result.status for host_result in result.hosts] == [HostStatus.OK, HostStatus.UNREACHABLE]
    assert usage_of(result, "7QJ2K").activated == 1


def test_keys_table_order_and_unknown_keys():
    hosts = [
        host(1, record(Channel.MAK, "ZZZZZ", name="Office 21, Office21ProPlus2021VL_MAK_AE edition")),
        host(2, record(Channel.MAK, "BBBBB", LicenseStatus.NOTIFICATION)),
        host(3, record(Channel.MAK, "BBBBB")),
    ]
    stock = inventory(key("CCCCC", key_id="B-KEY"), key("7QJ2K", key_id="A-KEY"))

    result = analyse(hosts, stock, DEFAULT_CONFIG, NOW)

    assert [(usage.key_id, usage.partial_product_key) for usage in result.keys] == [
        ("B-KEY", "CCCCC"),
        ("A-KEY", "7QJ2K"),
        (None, "BBBBB"),
        (None, "ZZZZZ"),
    ]
    unknown = usage_of(result, "BBBBB")
    assert (unknown.allotment, unknown.key_status, unknown.activated, unknown.installed_not_activated) == (None, None, 1, 1)
    assert usage_of(result, "ZZZZZ").product.startswith("Office 21")


def test_no_inventory_lists_every_mak_without_findings():
    result = analyse([host(1, record(Channel.MAK, "7QJ2K"))], None, DEFAULT_CONFIG, NOW)

    assert [(usage.key_id, usage.activated) for usage in result.keys] == [(None, 1)]
    assert result.findings == ()
    assert result.positions == ()


def test_empty_fleet():
    result = analyse([], inventory(key()), DEFAULT_CONFIG, NOW)

    assert [(usage.activated, usage.installed_not_activated) for usage in result.keys] == [(0, 0)]
    assert result.hosts == ()


def test_findings_sorted_by_severity_code_host():
    hosts = [
        failed("b-host"),
        failed("a-host"),
        host(1, record(Channel.MAK, "7QJ2K", LicenseStatus.NOTIFICATION)),
        host(2, record(Channel.MAK, "BBBBB", LicenseStatus.LICENSED)),
    ] + [host(10 + number, record(Channel.MAK, "7QJ2K")) for number in range(3)]

    result = analyse(hosts, inventory(key(allotment=2)), DEFAULT_CONFIG, NOW)

    order = [(finding.severity, finding.code, finding.host) for finding in result.findings]
    assert order == [
        (Severity.CRITICAL, "MAK_OVERUSE", None),
        (Severity.HIGH, "HOST_NOT_ACTIVATED", "PC-0001"),
        (Severity.HIGH, "MAK_UNKNOWN_KEY", None),
        (Severity.MEDIUM, "HOST_UNREACHABLE", "a-host"),
        (Severity.MEDIUM, "HOST_UNREACHABLE", "b-host"),
    ]


def test_trends_and_time_pass_through():
    result = analyse([], None, DEFAULT_CONFIG, NOW.replace(tzinfo=None))

    assert result.generated_at == NOW
    assert result.trends == ()


@pytest.mark.parametrize(
    ("suppression", "suppressed_codes"),
    [
        (Suppression(code="HOST_UNREACHABLE"), {"HOST_UNREACHABLE"}),
        (Suppression(code="HOST_UNREACHABLE", host="SRV-01"), {"HOST_UNREACHABLE"}),
        (Suppression(code="HOST_UNREACHABLE", host="srv-02"), set()),
        (Suppression(code="MAK_UNKNOWN_KEY", key="bbbbb"), {"MAK_UNKNOWN_KEY"}),
        (Suppression(code="MAK_UNKNOWN_KEY", host="PC-0002"), {"MAK_UNKNOWN_KEY"}),  # the key's only host
        (Suppression(code="MAK_UNKNOWN_KEY", key="CCCCC"), set()),
    ],
)
def test_suppressions_mark_findings(suppression, suppressed_codes):
    config = AuditConfig(suppressions=(suppression,))
    hosts = [failed("srv-01"), host(2, record(Channel.MAK, "BBBBB"))]

    result = analyse(hosts, inventory(key()), config, NOW)

    assert {finding.code for finding in result.findings} == {"HOST_UNREACHABLE", "MAK_UNKNOWN_KEY"}
    assert {finding.code for finding in result.findings if finding.suppressed} == suppressed_codes


def test_host_suppression_does_not_hide_other_hosts_of_a_key():
    config = AuditConfig(suppressions=(Suppression(code="MAK_UNKNOWN_KEY", host="PC-0002"),))
    hosts = [host(2, record(Channel.MAK, "BBBBB")), host(3, record(Channel.MAK, "BBBBB"))]

    result = analyse(hosts, inventory(key()), config, NOW)

    (finding,) = result.findings
    assert not finding.suppressed


def finding(severity, suppressed=False):
    return Finding(code="X", severity=severity, message="m", remediation="r", suppressed=suppressed)


@pytest.mark.parametrize(
    ("severities", "fail_on", "status"),
    [
        ([Severity.HIGH], Severity.HIGH, 1),
        ([Severity.CRITICAL], Severity.HIGH, 1),
        ([Severity.MEDIUM], Severity.HIGH, 0),
        ([Severity.INFO], Severity.INFO, 1),
        ([Severity.CRITICAL], None, 0),
        ([], Severity.INFO, 0),
    ],
)
def test_exit_status_for(severities, fail_on, status):
    assert exit_status_for([finding(severity) for severity in severities], fail_on) == status


def test_exit_status_ignores_suppressed_findings():
    assert exit_status_for([finding(Severity.CRITICAL, suppressed=True)], Severity.LOW) == 0


def test_garbage_collection_resumes_after_analysis():
    import gc

    assert gc.isenabled()
    analyse([host(1, record())], inventory(key()), DEFAULT_CONFIG, NOW)
    assert gc.isenabled()


def test_host_keys_match_the_model():
    from makaudit.analysis.frames import host_keys

    results = [host(1, record()), host(2, record(), uuid=False), failed("SRV-01.corp"), failed("srv-02")]

    assert host_keys(results).tolist() == [result.host_key for result in results]
