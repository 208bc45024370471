"""End to end: the real pywinrm and pypsrp clients collect the test fleet over HTTP and HTTPS."""

from __future__ import annotations

import itertools
from typing import Iterator

import pytest

from conftest import fleet_options, make_machine, unique_users
from makaudit.collectors.psrp import PSRPCollector
from makaudit.collectors.script import CollectionScript, collection_script
from makaudit.collectors.targets import parse_target
from makaudit.collectors.winrm import WinRMCollector
from makaudit.model import HostStatus
from makaudit.parsing.endpoint import parse_endpoint_document
from makaudit.testing.fleet import FleetServer

MATRIX = list(itertools.product(["winrm", "psrp"], ["basic", "ntlm"]))


@pytest.fixture(scope="module")
def http_fleet() -> Iterator[FleetServer]:
    with FleetServer([make_machine(index) for index in range(1, 4)], users=unique_users()) as fleet:
        yield fleet


@pytest.fixture(scope="module")
def https_fleet() -> Iterator[FleetServer]:
    with FleetServer([make_machine(index) for index in range(4, 7)], users=unique_users(), https=True) as fleet:
        yield fleet


def _check_host_matches_served(result, machine) -> None:
    expected = parse_endpoint_document(machine.document, machine.target)

    assert result.status is HostStatus.OK, result.error
    assert result.error is None
    assert result.target == machine.target
    assert result.state.document == machine.document
    assert result.state.records == expected.records
    assert result.state.computer == expected.computer
    assert result.state.collected_at == expected.collected_at
    assert result.duration_seconds is not None


@pytest.mark.parametrize(("transport", "auth"), MATRIX)
def test_http_collects_every_host(http_fleet, collect_one, transport: str, auth: str) -> None:
    options = fleet_options(http_fleet, transport=transport, auth=auth, allow_unencrypted=True)

    for machine in http_fleet.machines:
        _check_host_matches_served(collect_one(http_fleet, machine, options), machine)


@pytest.mark.parametrize(("transport", "auth"), MATRIX)
def test_https_with_ca_bundle(https_fleet, collect_one, transport: str, auth: str) -> None:
    options = fleet_options(https_fleet, transport=transport, auth=auth)

    for machine in https_fleet.machines:
        _check_host_matches_served(collect_one(https_fleet, machine, options), machine)


@pytest.mark.parametrize("transport", ["winrm", "psrp"])
def test_https_without_ca_bundle_fails_validation(https_fleet, collect_one, transport: str) -> None:
    options = fleet_options(https_fleet, transport=transport, ca_bundle=None)

    result = collect_one(https_fleet, https_fleet.machines[0], options)

    assert result.status is HostStatus.ERROR
    assert result.error.startswith("connect failed: TLS handshake failed")
    assert "--ca-bundle" in result.error
    assert result.state is None


@pytest.mark.parametrize("transport", ["winrm", "psrp"])
def test_https_no_verify_tls_connects(https_fleet, collect_one, transport: str) -> None:
    options = fleet_options(https_fleet, transport=transport, ca_bundle=None, verify_tls=False)

    result = collect_one(https_fleet, https_fleet.machines[0], options)

    assert result.status is HostStatus.OK, result.error


@pytest.mark.parametrize("transport", ["winrm", "psrp"])
def test_no_slmgr_serves_null_dlv(http_fleet, collect_one, transport: str) -> None:
    machine = http_fleet.machines[0]
    options = fleet_options(http_fleet, transport=transport, no_slmgr=True)

    result = collect_one(http_fleet, machine, options)

    assert result.status is HostStatus.OK, result.error
    assert result.state.document["slmgr_dlv"] is None
    assert machine.document["slmgr_dlv"] is not None


def test_winrm_stdin_path_forced(http_fleet) -> None:
    machine = http_fleet.machines[1]
    collector = WinRMCollector(fleet_options(http_fleet), host_timeout=10, force_stdin=True)

    result = collector.collect(parse_target(machine.target))

    assert collector.use_stdin
    _check_host_matches_served(result, machine)


def test_winrm_script_too_long_goes_on_stdin(http_fleet) -> None:
    machine = http_fleet.machines[2]
    collector = WinRMCollector(fleet_options(http_fleet), host_timeout=10)
    padding = "\n".join(f"$unused{number}=$null" for number in range(600))
    collector.script = CollectionScript(padding + "\n" + collection_script().text)

    result = collector.collect(parse_target(machine.target))

    assert not collector.script.fits_command_line
    assert collector.use_stdin
    _check_host_matches_served(result, machine)


def test_winrm_no_slmgr_on_stdin(http_fleet) -> None:
    machine = http_fleet.machines[0]
    collector = WinRMCollector(fleet_options(http_fleet, no_slmgr=True), host_timeout=10, force_stdin=True)

    result = collector.collect(parse_target(machine.target))

    assert result.status is HostStatus.OK, result.error
    assert result.state.document["slmgr_dlv"] is None


def test_psrp_collector_class(http_fleet) -> None:
    machine = http_fleet.machines[0]
    collector = PSRPCollector(fleet_options(http_fleet, transport="psrp"), host_timeout=10)

    _check_host_matches_served(collector.collect(parse_target(machine.target)), machine)
