"""Requests per host: the collectors add no round trip to the client library's own sequence, and clean up."""

from __future__ import annotations

from typing import Iterator

import pytest
from winrm.protocol import Protocol

from conftest import fleet_options, make_machine, unique_users
from makaudit.collectors.runner import make_collector
from makaudit.collectors.script import collection_script
from makaudit.collectors.targets import parse_target
from makaudit.model import HostStatus
from makaudit.testing.fleet import FleetServer
from makaudit.testing.machine import HostFaults

DEAD_PROXY = "http://127.0.0.1:9"
"""A loopback proxy address where nothing listens: a request sent through it fails."""


@pytest.fixture(scope="module")
def fleet() -> Iterator[FleetServer]:
    machines = [make_machine(index) for index in range(1, 5)]
    machines.append(make_machine(5, HostFaults(script_seconds=30.0)))
    with FleetServer(machines, users=unique_users()) as server:
        yield server


def _requests_to(fleet: FleetServer, target: str) -> int:
    return fleet.stats.by_host.get(target, 0)


def _bare_pywinrm_collect(fleet: FleetServer, target: str) -> None:
    """The sequence pywinrm's own run_cmd sends: open shell, command, receive, signal, close."""
    protocol = Protocol(
        f"http://{target}/wsman",
        transport="ntlm",
        username=fleet.username,
        password=fleet.password,
        read_timeout_sec=30,
        operation_timeout_sec=20,
        server_cert_validation="ignore",
        proxy=None,
    )
    shell_id = protocol.open_shell(codepage=65001)
    command_id = protocol.run_command(shell_id, collection_script().encoded_command)
    protocol.get_command_output(shell_id, command_id)
    protocol.cleanup_command(shell_id, command_id)
    protocol.close_shell(shell_id)


def test_winrm_skips_signal_after_done(fleet) -> None:
    makaudit_host, bare_host = fleet.machines[0], fleet.machines[1]
    collector = make_collector(fleet_options(fleet, transport="winrm", auth="ntlm"), 10.0)

    before = _requests_to(fleet, makaudit_host.target)
    result = collector.collect(parse_target(makaudit_host.target))
    makaudit_requests = _requests_to(fleet, makaudit_host.target) - before

    before = _requests_to(fleet, bare_host.target)
    _bare_pywinrm_collect(fleet, bare_host.target)
    bare_requests = _requests_to(fleet, bare_host.target) - before

    assert result.status is HostStatus.OK, result.error
    assert makaudit_requests == bare_requests - 1
    assert fleet.cmd_handler.open_shell_count(makaudit_host.target) == 0


def test_winrm_timeout_closes_shell(fleet) -> None:
    slow_host = fleet.machines[4]
    collector = make_collector(fleet_options(fleet, transport="winrm", auth="ntlm"), 3.0)

    result = collector.collect(parse_target(slow_host.target))

    assert result.status is HostStatus.TIMEOUT
    assert "run script" in result.error
    assert fleet.cmd_handler.open_shell_count(slow_host.target) == 0


@pytest.mark.parametrize("transport", ["winrm", "psrp"])
def test_proxy_environment_ignored(fleet, monkeypatch, transport: str) -> None:
    monkeypatch.setenv("HTTP_PROXY", DEAD_PROXY)
    monkeypatch.setenv("http_proxy", DEAD_PROXY)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    machine = fleet.machines[2 if transport == "winrm" else 3]
    collector = make_collector(fleet_options(fleet, transport=transport, auth="ntlm"), 10.0)

    first = collector.collect(parse_target(machine.target))
    second = collector.collect(parse_target(machine.target))

    assert first.status is HostStatus.OK, first.error
    assert second.status is HostStatus.OK, second.error
    assert first.state.document == machine.document
