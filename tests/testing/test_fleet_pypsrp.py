"""The real pypsrp client against the test fleet's WinRS shells: NTLM with encryption, HTTPS, faults."""

from __future__ import annotations

import base64
import json

import pytest
import requests
from pypsrp.client import Client
from pypsrp.exceptions import AuthenticationError, WSManFaultError
from pypsrp.shell import Process, WinRS
from pypsrp.wsman import WSMan

from makaudit.testing.machine import HostFaults

COLLECTION_SCRIPT = "Get-CimInstance SoftwareLicensingProduct -Filter 'PartialProductKey IS NOT NULL' | ConvertTo-Json"
SLMGR = r"cscript //nologo C:\Windows\System32\slmgr.vbs /dlv all"


def client(fleet, machine, auth: str = "ntlm", **kwargs) -> Client:  # type: ignore[no-untyped-def]
    kwargs.setdefault("cert_validation", fleet.ca_bundle_path or False)
    kwargs.setdefault("connection_timeout", 5)
    if auth == "basic" and not fleet.https:
        kwargs.setdefault("encryption", "never")
    return Client(
        machine.address,
        port=machine.port,
        username=fleet.username,
        password=fleet.password,
        ssl=fleet.https,
        auth=auth,
        **kwargs,
    )


def encoded_command(script: str) -> str:
    return "powershell -NoProfile -EncodedCommand " + base64.b64encode(script.encode("utf-16-le")).decode()


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
@pytest.mark.parametrize("auth", ["basic", "ntlm"])
def test_execute_cmd_returns_document(fleet_factory, make_machine, auth: str, https: bool) -> None:
    machine = make_machine()
    fleet = fleet_factory([machine], https=https)
    stdout, stderr, exit_code = client(fleet, machine, auth).execute_cmd(encoded_command(COLLECTION_SCRIPT))
    assert exit_code == 0
    assert stderr == ""
    assert json.loads(stdout) == machine.document


def test_execute_cmd_slmgr(fleet_factory, make_machine) -> None:
    machine = make_machine()
    fleet = fleet_factory([machine])
    stdout, _, exit_code = client(fleet, machine).execute_cmd(SLMGR)
    assert exit_code == 0
    assert stdout.replace("\r\n", "\n") == machine.slmgr_text.replace("\r\n", "\n")


def test_winrs_process_with_stdin(fleet_factory, make_machine) -> None:
    machine = make_machine()
    fleet = fleet_factory([machine])
    wsman = WSMan(
        machine.address, port=machine.port, username=fleet.username, password=fleet.password,
        ssl=False, auth="ntlm", cert_validation=False,
    )
    with wsman, WinRS(wsman) as shell:
        process = Process(shell, "powershell", ["-NoProfile", "-Command", "-"])
        process.begin_invoke()
        process.send((COLLECTION_SCRIPT + "\r\n").encode("cp437"), end=True)
        process.end_invoke()
    assert process.rc == 0
    assert json.loads(process.stdout) == machine.document


def test_unknown_command_fails(fleet_factory, make_machine) -> None:
    machine = make_machine()
    fleet = fleet_factory([machine])
    stdout, stderr, exit_code = client(fleet, machine).execute_cmd("ipconfig /all")
    assert exit_code == 1
    assert stdout == ""
    assert stderr.startswith("'ipconfig' is not recognized as an internal or external command,")


def test_long_command_line_fails(fleet_factory, make_machine) -> None:
    machine = make_machine()
    fleet = fleet_factory([machine])
    _, stderr, exit_code = client(fleet, machine).execute_cmd(encoded_command(COLLECTION_SCRIPT + " " * 4000))
    assert exit_code == 1
    assert stderr == "The command line is too long.\r\n"


@pytest.mark.parametrize("auth", ["basic", "ntlm"])
def test_wrong_password(fleet_factory, make_machine, auth: str) -> None:
    machine = make_machine()
    fleet = fleet_factory([machine])
    bad = Client(
        machine.address, port=machine.port, username=fleet.username, password="not-the-password",
        ssl=False, auth=auth, cert_validation=False, encryption="never" if auth == "basic" else "auto",
    )
    with pytest.raises(AuthenticationError):
        bad.execute_cmd("hostname")


def test_auth_always_fails(fleet_factory, make_machine) -> None:
    machine = make_machine(faults=HostFaults(auth_always_fails=True))
    fleet = fleet_factory([machine])
    with pytest.raises(AuthenticationError):
        client(fleet, machine).execute_cmd("hostname")


def test_quota_limit_fault_code(fleet_factory, make_machine) -> None:
    machine = make_machine(faults=HostFaults(quota_limit=True))
    fleet = fleet_factory([machine])
    with pytest.raises(WSManFaultError) as caught:
        client(fleet, machine).execute_cmd("hostname")
    assert caught.value.code == 2150859173
    assert caught.value.machine == machine.name
    assert "maximum number of 30 concurrent shells" in caught.value.reason


def test_refused_connection(fleet_factory, make_machine) -> None:
    machine = make_machine(faults=HostFaults(refuse_connection=True))
    fleet = fleet_factory([machine])
    with pytest.raises(requests.exceptions.ConnectionError):
        client(fleet, machine).execute_cmd("hostname")


def test_hang_trips_read_timeout(fleet_factory, make_machine) -> None:
    machine = make_machine(faults=HostFaults(hang=True))
    fleet = fleet_factory([machine])
    with pytest.raises(requests.exceptions.ReadTimeout):
        client(fleet, machine, read_timeout=2, operation_timeout=1).execute_cmd("hostname")


def test_progress_on_stderr(fleet_factory, make_machine) -> None:
    machine = make_machine(faults=HostFaults(progress_stderr=True))
    fleet = fleet_factory([machine])
    stdout, stderr, exit_code = client(fleet, machine).execute_cmd(encoded_command(COLLECTION_SCRIPT))
    assert exit_code == 0
    assert json.loads(stdout) == machine.document
    assert stderr.startswith("#< CLIXML\r\n")
    assert '<Obj S="progress"' in stderr


def test_https_validation_needs_ca(fleet_factory, make_machine) -> None:
    machine = make_machine()
    fleet = fleet_factory([machine], https=True)
    with pytest.raises(requests.exceptions.SSLError):
        client(fleet, machine, cert_validation=True).execute_cmd("hostname")
    stdout, _, _ = client(fleet, machine).execute_cmd("hostname")
    assert stdout == f"{machine.name}\r\n"
