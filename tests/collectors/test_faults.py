"""Every fault the test fleet injects yields the right host status and a readable message."""

from __future__ import annotations

import logging
from typing import Iterator

import pytest

from conftest import PASSWORD, fleet_options, make_machine, unique_users
from makaudit.model import HostStatus
from makaudit.testing.fleet import FleetServer
from makaudit.testing.machine import HostFaults

TRANSPORTS = ["winrm", "psrp"]

FAULTS = {
    "healthy": HostFaults(),
    "refused": HostFaults(refuse_connection=True),
    "hang": HostFaults(hang=True),
    "slow": HostFaults(delay_seconds=0.2),
    "too_slow": HostFaults(delay_seconds=2.0),
    "auth": HostFaults(auth_always_fails=True),
    "quota": HostFaults(quota_limit=True),
    "garbage": HostFaults(garbage_output=True),
    "wmi": HostFaults(wmi_broken=True),
    "progress": HostFaults(progress_stderr=True),
    "long_script": HostFaults(script_seconds=6.0),
}


@pytest.fixture(scope="module")
def fault_fleet() -> Iterator[FleetServer]:
    machines = [make_machine(index, faults) for index, faults in enumerate(FAULTS.values(), start=1)]
    with FleetServer(machines, users=unique_users()) as fleet:
        yield fleet


def _collect(fleet: FleetServer, collect_one, fault: str, transport: str, host_timeout: float = 3.0, **changes):
    machine = fleet.machines[list(FAULTS).index(fault)]
    options = fleet_options(fleet, transport=transport, **changes)
    return collect_one(fleet, machine, options, host_timeout)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_healthy_host_ok(fault_fleet, collect_one, transport: str) -> None:
    result = _collect(fault_fleet, collect_one, "healthy", transport)

    assert result.status is HostStatus.OK, result.error


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_refused_connection_unreachable(fault_fleet, collect_one, transport: str) -> None:
    result = _collect(fault_fleet, collect_one, "refused", transport)

    assert result.status is HostStatus.UNREACHABLE
    assert result.error.startswith("connect failed: connection refused")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_hanging_host_times_out(fault_fleet, collect_one, transport: str) -> None:
    result = _collect(fault_fleet, collect_one, "hang", transport, host_timeout=1.5)

    assert result.status is HostStatus.TIMEOUT
    assert "per-host timeout of 1.5 s" in result.error


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_slow_host_within_timeout_ok(fault_fleet, collect_one, transport: str) -> None:
    result = _collect(fault_fleet, collect_one, "slow", transport, host_timeout=15.0)

    assert result.status is HostStatus.OK, result.error


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_slow_responses_past_read_timeout(fault_fleet, collect_one, transport: str) -> None:
    result = _collect(
        fault_fleet, collect_one, "too_slow", transport, host_timeout=30.0, operation_timeout=1, read_timeout=1.2
    )

    assert result.status is HostStatus.TIMEOUT
    assert "no response within the read timeout" in result.error


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_rejected_logon_auth_failed(fault_fleet, collect_one, transport: str) -> None:
    result = _collect(fault_fleet, collect_one, "auth", transport)

    assert result.status is HostStatus.AUTH_FAILED
    assert result.error.startswith("authenticate failed: the endpoint rejected the credentials")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_wrong_password_auth_failed(fault_fleet, collect_one, transport: str) -> None:
    result = _collect(fault_fleet, collect_one, "healthy", transport, password="wrong-" + PASSWORD)

    assert result.status is HostStatus.AUTH_FAILED
    assert "rejected the credentials" in result.error


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_quota_limit_retried_then_error(fault_fleet, collect_one, transport: str, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="makaudit.collectors"):
        result = _collect(fault_fleet, collect_one, "quota", transport, host_timeout=10.0)

    assert result.status is HostStatus.ERROR
    assert "w:QuotaLimit" in result.error
    assert "MaxShellsPerUser" in result.error
    assert "retrying once" in caplog.text


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_garbage_output_parse_error(fault_fleet, collect_one, transport: str) -> None:
    result = _collect(fault_fleet, collect_one, "garbage", transport)

    assert result.status is HostStatus.ERROR
    assert result.error.startswith("parse output failed: the script output is not JSON")
    assert "Loading personal and system profiles" in result.error


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_broken_wmi_reported_in_state(fault_fleet, collect_one, transport: str) -> None:
    result = _collect(fault_fleet, collect_one, "wmi", transport)

    assert result.status is HostStatus.OK, result.error
    assert [error.source for error in result.state.errors] == ["wmi"]
    assert "Invalid class" in result.state.errors[0].message
    assert result.state.document["products"] == []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_progress_on_stderr_still_ok(fault_fleet, collect_one, transport: str) -> None:
    result = _collect(fault_fleet, collect_one, "progress", transport)

    assert result.status is HostStatus.OK, result.error
    assert len(result.state.records) == 2


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_long_script_hits_host_deadline(fault_fleet, collect_one, transport: str) -> None:
    result = _collect(fault_fleet, collect_one, "long_script", transport, host_timeout=1.0, operation_timeout=1)

    assert result.status is HostStatus.TIMEOUT
    assert result.error.startswith("run script failed: no result within the per-host timeout")
    assert result.duration_seconds < 6.0


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_basic_refused_by_service_explained(collect_one, transport: str) -> None:
    machines = [make_machine(1)]
    with FleetServer(machines, users=unique_users(), allow_basic=False) as fleet:
        options = fleet_options(fleet, transport=transport, auth="basic", allow_unencrypted=True)
        result = collect_one(fleet, machines[0], options, 5.0)

    assert result.status is HostStatus.AUTH_FAILED
    assert "AllowUnencrypted" in result.error
    assert "--https" in result.error
