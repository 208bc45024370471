"""The real pywinrm client against the test fleet: Basic and NTLM, HTTP and HTTPS, and every fault."""

from __future__ import annotations

import base64
import json

import pytest
import requests
import winrm
from winrm.exceptions import InvalidCredentialsError, WinRMOperationTimeoutError, WSManFaultError

from makaudit.testing.machine import HostFaults

COLLECTION_SCRIPT = "Get-CimInstance SoftwareLicensingProduct -Filter 'PartialProductKey IS NOT NULL' | ConvertTo-Json"
SLMGR = r"cscript //nologo C:\Windows\System32\slmgr.vbs /dlv all"


def session(fleet, machine, transport: str = "ntlm", **kwargs) -> winrm.Session:  # type: ignore[no-untyped-def]
    scheme = "https" if fleet.https else "http"
    if fleet.https:
        kwargs.setdefault("server_cert_validation", "validate")
        kwargs.setdefault("ca_trust_path", fleet.ca_bundle_path)
    else:
        kwargs.setdefault("ca_trust_path", None)
    kwargs.setdefault("proxy", None)
    return winrm.Session(f"{scheme}://{machine.target}/wsman", auth=(fleet.username, fleet.password), transport=transport, **kwargs)


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
@pytest.mark.parametrize("transport", ["basic", "ntlm"])
def test_run_ps_returns_document(fleet_factory, make_machine, transport: str, https: bool) -> None:
    machine = make_machine()
    fleet = fleet_factory([machine], https=https)
    result = session(fleet, machine, transport).run_ps(COLLECTION_SCRIPT)
    assert result.status_code == 0
    assert result.std_err == b""
    assert json.loads(result.std_out.decode("utf-8")) == machine.document


@pytest.mark.parametrize("transport", ["basic", "ntlm"])
def test_run_cmd_slmgr(fleet_factory, make_machine, transport: str) -> None:
    machine = make_machine()
    fleet = fleet_factory([machine])
    result = session(fleet, machine, transport).run_cmd(SLMGR)
    assert result.status_code == 0
    assert result.std_out == machine.slmgr_text.encode("utf-8")


def test_run_cmd_with_arguments(fleet_factory, make_machine) -> None:
    machine = make_machine()
    fleet = fleet_factory([machine])
    result = session(fleet, machine).run_cmd("cscript", ["//nologo", r"C:\Windows\System32\slmgr.vbs", "/dlv", "all"])
    assert result.status_code == 0
    assert result.std_out == machine.slmgr_text.encode("utf-8")


def test_run_cmd_encoded_powershell(fleet_factory, make_machine) -> None:
    machine = make_machine()
    fleet = fleet_factory([machine])
    encoded = base64.b64encode(COLLECTION_SCRIPT.encode("utf-16-le")).decode()
    result = session(fleet, machine).run_cmd(f"powershell.exe -NoProfile -NonInteractive -EncodedCommand {encoded}")
    assert result.status_code == 0
    assert json.loads(result.std_out) == machine.document


def test_script_on_stdin(fleet_factory, make_machine) -> None:
    machine = make_machine()
    fleet = fleet_factory([machine])
    protocol = session(fleet, machine).protocol
    shell_id = protocol.open_shell()
    try:
        command_id = protocol.run_command(shell_id, "powershell -NoProfile -NonInteractive -Command -")
        protocol.send_command_input(shell_id, command_id, COLLECTION_SCRIPT + "\r\n", end=True)
        stdout, stderr, exit_code = protocol.get_command_output(shell_id, command_id)
        protocol.cleanup_command(shell_id, command_id)
    finally:
        protocol.close_shell(shell_id)
    assert exit_code == 0
    assert json.loads(stdout) == machine.document


def test_stdin_command_waits_for_end(fleet_factory, make_machine) -> None:
    machine = make_machine()
    fleet = fleet_factory([machine])
    protocol = session(fleet, machine, operation_timeout_sec=1, read_timeout_sec=5).protocol
    shell_id = protocol.open_shell()
    try:
        command_id = protocol.run_command(shell_id, "powershell -Command -")
        protocol.send_command_input(shell_id, command_id, COLLECTION_SCRIPT, end=False)
        with pytest.raises(WinRMOperationTimeoutError):
            protocol.get_command_output_raw(shell_id, command_id)
        protocol.send_command_input(shell_id, command_id, "\r\n", end=True)
        stdout, _, exit_code = protocol.get_command_output(shell_id, command_id)
    finally:
        protocol.close_shell(shell_id)
    assert exit_code == 0
    assert json.loads(stdout) == machine.document


def test_unknown_cmdlet_fails(fleet_factory, make_machine) -> None:
    machine = make_machine()
    fleet = fleet_factory([machine])
    result = session(fleet, machine).run_ps("Get-Nothing")
    assert result.status_code == 1
    assert result.std_out == b""
    # run_ps turns the CLIXML error records into text.
    assert result.std_err.startswith(b"Get-Nothing : The term 'Get-Nothing' is not recognized as the name of a cmdlet")
    assert b"CommandNotFoundException" in result.std_err


def test_unknown_command_fails(fleet_factory, make_machine) -> None:
    machine = make_machine()
    fleet = fleet_factory([machine])
    result = session(fleet, machine).run_cmd("ipconfig")
    assert result.status_code == 1
    assert result.std_err == b"'ipconfig' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n"


def test_long_script_fails_on_command_line(fleet_factory, make_machine) -> None:
    machine = make_machine()
    fleet = fleet_factory([machine])
    script = COLLECTION_SCRIPT + "\n# padding\n" * 400
    result = session(fleet, machine).run_ps(script)
    assert result.status_code == 1
    assert result.std_out == b""
    assert result.std_err == b"The command line is too long.\r\n"


def test_wrong_password_is_rejected(fleet_factory, make_machine) -> None:
    machine = make_machine()
    fleet = fleet_factory([machine])
    for transport in ("basic", "ntlm"):
        client = winrm.Session(f"http://{machine.target}/wsman", auth=(fleet.username, "wrong"), transport=transport, proxy=None)
        with pytest.raises(InvalidCredentialsError):
            client.run_cmd("hostname")


def test_unknown_user_is_rejected(fleet_factory, make_machine) -> None:
    machine = make_machine()
    fleet = fleet_factory([machine])
    client = winrm.Session(f"http://{machine.target}/wsman", auth=("FLEET\\nobody", fleet.password), transport="ntlm", proxy=None)
    with pytest.raises(InvalidCredentialsError):
        client.run_cmd("hostname")


def test_given_users_are_accepted(fleet_factory, make_machine) -> None:
    machine = make_machine()
    fleet_factory([machine], users=[("CORP", "scanner", "S3cret!pass"), ("", "helpdesk", "Other#pass1")])
    for username, password in (("CORP\\scanner", "S3cret!pass"), ("scanner", "S3cret!pass"), ("helpdesk", "Other#pass1")):
        client = winrm.Session(f"http://{machine.target}/wsman", auth=(username, password), transport="ntlm", proxy=None)
        assert client.run_cmd("hostname").std_out == f"{machine.name}\r\n".encode()


@pytest.mark.parametrize("transport", ["basic", "ntlm"])
def test_auth_always_fails(fleet_factory, make_machine, transport: str) -> None:
    machine = make_machine(faults=HostFaults(auth_always_fails=True))
    fleet = fleet_factory([machine])
    with pytest.raises(InvalidCredentialsError):
        session(fleet, machine, transport).run_cmd("hostname")


def test_refused_connection(fleet_factory, make_machine) -> None:
    machine = make_machine(faults=HostFaults(refuse_connection=True))
    fleet = fleet_factory([machine])
    with pytest.raises(requests.exceptions.ConnectionError):
        session(fleet, machine, operation_timeout_sec=1, read_timeout_sec=2).run_cmd("hostname")


def test_hang_trips_read_timeout(fleet_factory, make_machine) -> None:
    machine = make_machine(faults=HostFaults(hang=True))
    fleet = fleet_factory([machine])
    with pytest.raises(requests.exceptions.ReadTimeout):
        session(fleet, machine, operation_timeout_sec=1, read_timeout_sec=2).run_cmd("hostname")


def test_slow_host_answers(fleet_factory, make_machine) -> None:
    machine = make_machine(faults=HostFaults(delay_seconds=0.2))
    fleet = fleet_factory([machine])
    result = session(fleet, machine, transport="basic").run_cmd(SLMGR)
    assert result.status_code == 0
    assert result.std_out == machine.slmgr_text.encode()


def test_slow_host_beyond_read_timeout(fleet_factory, make_machine) -> None:
    machine = make_machine(faults=HostFaults(delay_seconds=3.0))
    fleet = fleet_factory([machine])
    with pytest.raises(requests.exceptions.ReadTimeout):
        session(fleet, machine, transport="basic", operation_timeout_sec=1, read_timeout_sec=2).run_cmd("hostname")


@pytest.mark.parametrize("transport", ["basic", "ntlm"])
def test_quota_limit_fault(fleet_factory, make_machine, transport: str) -> None:
    machine = make_machine(faults=HostFaults(quota_limit=True))
    fleet = fleet_factory([machine])
    with pytest.raises(WSManFaultError) as caught:
        session(fleet, machine, transport).run_cmd("hostname")
    assert caught.value.wsman_fault_code == 2150859173
    assert caught.value.fault_subcode == "w:QuotaLimit"
    assert caught.value.code == 500
    assert "maximum number of 30 concurrent shells" in caught.value.reason


def test_shell_quota_per_user(fleet_factory, make_machine) -> None:
    machine = make_machine()
    fleet = fleet_factory([machine], shells_per_user=3)
    protocol = session(fleet, machine).protocol
    shells = [protocol.open_shell() for _ in range(3)]
    with pytest.raises(WSManFaultError) as caught:
        protocol.open_shell()
    assert caught.value.wsman_fault_code == 2150859173
    protocol.close_shell(shells.pop())
    shells.append(protocol.open_shell())
    for shell_id in shells:
        protocol.close_shell(shell_id)
    assert fleet.cmd_handler.open_shell_count(machine.target) == 0


def test_garbage_output(fleet_factory, make_machine) -> None:
    machine = make_machine(faults=HostFaults(garbage_output=True))
    fleet = fleet_factory([machine])
    result = session(fleet, machine).run_ps(COLLECTION_SCRIPT)
    assert result.status_code == 0
    with pytest.raises(json.JSONDecodeError):
        json.loads(result.std_out)


def test_wmi_broken(fleet_factory, make_machine) -> None:
    machine = make_machine(faults=HostFaults(wmi_broken=True))
    fleet = fleet_factory([machine])
    document = json.loads(session(fleet, machine).run_ps(COLLECTION_SCRIPT).std_out)
    assert document["products"] == []
    assert document["errors"][-1]["source"] == "wmi"


def test_progress_on_stderr_with_exit_zero(fleet_factory, make_machine) -> None:
    machine = make_machine(faults=HostFaults(progress_stderr=True))
    fleet = fleet_factory([machine])
    result = session(fleet, machine).run_ps(COLLECTION_SCRIPT)
    assert result.status_code == 0
    assert json.loads(result.std_out) == machine.document
    # run_ps leaves progress-only CLIXML as it is.
    assert result.std_err.startswith(b'#< CLIXML\r\n<Objs Version="1.1.0.1"')
    assert b'<Obj S="progress" RefId="0">' in result.std_err


def test_script_time_gives_timed_out_then_output(fleet_factory, make_machine) -> None:
    machine = make_machine(faults=HostFaults(script_seconds=1.5))
    fleet = fleet_factory([machine])
    encoded = base64.b64encode(COLLECTION_SCRIPT.encode("utf-16-le")).decode()
    protocol = session(fleet, machine, operation_timeout_sec=1, read_timeout_sec=3).protocol
    shell_id = protocol.open_shell()
    try:
        command_id = protocol.run_command(shell_id, f"powershell -encodedcommand {encoded}")
        with pytest.raises(WinRMOperationTimeoutError):
            protocol.get_command_output_raw(shell_id, command_id)
        stdout, _, exit_code = protocol.get_command_output(shell_id, command_id)
    finally:
        protocol.close_shell(shell_id)
    assert exit_code == 0
    assert json.loads(stdout) == machine.document


def test_https_needs_the_ca_bundle(fleet_factory, make_machine) -> None:
    machine = make_machine()
    fleet = fleet_factory([machine], https=True)
    untrusting = winrm.Session(
        f"https://{machine.target}/wsman",
        auth=(fleet.username, fleet.password),
        transport="ntlm",
        server_cert_validation="validate",
        ca_trust_path=None,
        proxy=None,
    )
    with pytest.raises(requests.exceptions.SSLError):
        untrusting.run_cmd("hostname")
    assert session(fleet, machine).run_cmd("hostname").status_code == 0
