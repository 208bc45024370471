"""The PSRP endpoint of the test fleet, driven by the real pypsrp client over HTTP and HTTPS.

Each test runs ``Client.execute_ps`` or ``RunspacePool``/``PowerShell`` against a
``FleetServer`` on loopback, with Basic and with NTLM (message encryption).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Any

import pytest
from pypsrp.client import Client
from pypsrp.exceptions import WSManFaultError
from pypsrp.powershell import PowerShell, PSInvocationState, RunspacePool
from pypsrp.wsman import WSMan

from makaudit.testing.fleet import FleetServer
from makaudit.testing.machine import HostFaults, MachineDescription

DOMAIN = "FLEET"
USERNAME = "auditor"
PASSWORD = "Psrp-Test-Password-1"
CONCURRENT_SESSIONS = 24

COLLECTION_SCRIPT = resources.files("makaudit.collectors").joinpath("collect.ps1").read_text(encoding="utf-8")

BASE_DOCUMENT: dict[str, Any] = {
    "format": "makaudit-endpoint",
    "version": 1,
    "collected_at": "2026-12-04T19:40:00Z",
    "computer": {
        "name": "PC-0042",
        "dns_host_name": "pc-0042",
        "domain": "corp.example.test",
        "os_caption": "Microsoft Windows 11 Enterprise",
        "os_version": "10.0.22631",
        "uuid": "4C4C4544-0042-3010-8052-B7C04F4E3332",
        "ui_culture": "de-DE",
    },
    "service": {"Version": "10.0.22621.2506", "KeyManagementServicePort": 1688, "VLActivationInterval": 120},
    "products": [
        {
            "ID": "ed655016-a9e8-4434-95d9-4345352c2552",
            "Name": "Windows(R), Enterprise edition",
            "Description": "Windows(R) Operating System, VOLUME_MAK channel",
            "ProductKeyChannel": "Volume:MAK",
            "PartialProductKey": "7KX3Q",
            "LicenseStatus": 1,
            "GracePeriodRemaining": 0,
        }
    ],
    "ospp_products": [],
    "slmgr_dlv": "Softwarelizenzierungsdienst-Version: 10.0.22621.2506\r\nName: Windows(R), Enterprise edition",
    "errors": [],
}


def make_machine(index: int, faults: HostFaults | None = None) -> MachineDescription:
    document = copy.deepcopy(BASE_DOCUMENT)
    document["computer"]["name"] = f"PC-{index:04d}"
    return MachineDescription(
        name=f"PC-{index:04d}",
        document=document,
        slmgr_text=document["slmgr_dlv"],
        address=f"127.0.40.{index}",
        port=5985,
        faults=faults or HostFaults(),
    )


HEALTHY = make_machine(1)
UNKNOWN_COMMAND_HOST = make_machine(2)
GARBAGE = make_machine(3, HostFaults(garbage_output=True))
WMI_BROKEN = make_machine(4, HostFaults(wmi_broken=True))
PROGRESS = make_machine(5, HostFaults(progress_stderr=True))
QUOTA = make_machine(6, HostFaults(quota_limit=True))
SLOW = make_machine(7, HostFaults(script_seconds=2.5))
CROWD = [make_machine(100 + index, HostFaults(script_seconds=1.0)) for index in range(CONCURRENT_SESSIONS)]
ALL_MACHINES = [HEALTHY, UNKNOWN_COMMAND_HOST, GARBAGE, WMI_BROKEN, PROGRESS, QUOTA, SLOW, *CROWD]


@pytest.fixture(scope="module")
def fleet() -> Iterator[FleetServer]:
    with FleetServer(ALL_MACHINES, users=[(DOMAIN, USERNAME, PASSWORD)]) as server:
        yield server


def connection_options(machine: MachineDescription, auth: str) -> dict[str, Any]:
    options: dict[str, Any] = {
        "port": machine.port,
        "username": f"{DOMAIN}\\{USERNAME}",
        "password": PASSWORD,
        "ssl": False,
        "auth": auth,
        "connection_timeout": 10,
    }
    if auth == "basic":
        options["encryption"] = "never"
    return options


def client_for(machine: MachineDescription, auth: str = "basic", **extra: Any) -> Client:
    return Client(machine.address, **connection_options(machine, auth), **extra)


def wsman_for(machine: MachineDescription, auth: str = "basic") -> WSMan:
    return WSMan(machine.address, **connection_options(machine, auth))


@pytest.mark.parametrize("auth", ["basic", "ntlm"])
def test_execute_ps_returns_document(fleet: FleetServer, auth: str) -> None:
    output, streams, had_errors = client_for(HEALTHY, auth).execute_ps(COLLECTION_SCRIPT)

    assert json.loads(output) == HEALTHY.document
    assert streams.error == []
    assert had_errors is False


@pytest.mark.parametrize("auth", ["basic", "ntlm"])
def test_add_script_returns_document(fleet: FleetServer, auth: str) -> None:
    with RunspacePool(wsman_for(HEALTHY, auth)) as pool:
        powershell = PowerShell(pool)
        powershell.add_script(COLLECTION_SCRIPT)
        output = powershell.invoke()

    assert [json.loads(value) for value in output] == [HEALTHY.document]
    assert powershell.state == PSInvocationState.COMPLETED
    assert powershell.had_errors is False


def test_two_pipelines_in_one_pool(fleet: FleetServer) -> None:
    with RunspacePool(wsman_for(HEALTHY)) as pool:
        first = PowerShell(pool)
        first.add_script(COLLECTION_SCRIPT)
        first_output = first.invoke()
        first.close()
        second = PowerShell(pool)
        second.add_script("Get-NoSuchCommand")
        second.invoke()

    assert json.loads(first_output[0]) == HEALTHY.document
    assert len(second.streams.error) == 1


def test_unknown_command_error_record(fleet: FleetServer) -> None:
    output, streams, had_errors = client_for(UNKNOWN_COMMAND_HOST).execute_ps("Get-NoSuchCommand -All")

    assert output == ""
    assert len(streams.error) == 1
    error = streams.error[0]
    assert "Get-NoSuchCommand" in str(error)
    assert error.fq_error == "CommandNotFoundException"
    assert error.reason == "CommandNotFoundException"
    assert error.target_name == "Get-NoSuchCommand"
    assert had_errors is False


def test_garbage_output_is_not_json(fleet: FleetServer) -> None:
    output, streams, _ = client_for(GARBAGE).execute_ps(COLLECTION_SCRIPT)

    with pytest.raises(json.JSONDecodeError):
        json.loads(output)
    assert output.strip() != ""
    assert streams.error == []


def test_wmi_broken_document(fleet: FleetServer) -> None:
    output, _, _ = client_for(WMI_BROKEN).execute_ps(COLLECTION_SCRIPT)
    document = json.loads(output)

    assert document["products"] == []
    assert document["ospp_products"] == []
    assert [error["source"] for error in document["errors"]] == ["wmi"]


def test_progress_record_in_streams(fleet: FleetServer) -> None:
    output, streams, had_errors = client_for(PROGRESS).execute_ps(COLLECTION_SCRIPT)

    assert json.loads(output) == PROGRESS.document
    assert len(streams.progress) == 1
    assert streams.progress[0].activity == "Preparing modules for first use."
    assert had_errors is False


@pytest.mark.parametrize("auth", ["basic", "ntlm"])
def test_quota_limit_fault(fleet: FleetServer, auth: str) -> None:
    with pytest.raises(WSManFaultError) as caught:
        client_for(QUOTA, auth).execute_ps(COLLECTION_SCRIPT)

    assert caught.value.code == 2150859173
    assert "maximum number of concurrent shells" in caught.value.reason


def test_slow_script_outlasts_operation_timeout(fleet: FleetServer) -> None:
    client = client_for(SLOW, operation_timeout=1, read_timeout=5)

    output, _, had_errors = client.execute_ps(COLLECTION_SCRIPT)

    assert json.loads(output) == SLOW.document
    assert had_errors is False


def test_concurrent_sessions(fleet: FleetServer) -> None:
    def scan(machine: MachineDescription) -> dict[str, Any]:
        output, _, _ = client_for(machine).execute_ps(COLLECTION_SCRIPT)
        return json.loads(output)

    with ThreadPoolExecutor(max_workers=CONCURRENT_SESSIONS) as executor:
        documents = list(executor.map(scan, CROWD))

    assert documents == [machine.document for machine in CROWD]


def test_ntlm_over_https() -> None:
    machine = make_machine(200)
    with FleetServer([machine], users=[(DOMAIN, USERNAME, PASSWORD)], https=True) as server:
        options = connection_options(machine, "ntlm")
        options.update(ssl=True, cert_validation=server.ca_bundle_path)
        output, _, _ = Client(machine.address, **options).execute_ps(COLLECTION_SCRIPT)

    assert json.loads(output) == machine.document
