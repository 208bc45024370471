"""FleetServer's API and guards, raw HTTP responses, the SOAP fault shape and the standalone command."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

import pytest
import requests

from makaudit.testing.fleet import FleetServer, main
from makaudit.testing.machine import HostFaults
from makaudit.testing.pytest_plugin import sample_machine
from makaudit.testing.server.auth import Account, read_users_file
from makaudit.testing.server.base import NS
from makaudit.testing.server.service import check_loopback
from makaudit.testing.server.soap import parse_duration


@pytest.mark.parametrize("address", ["10.0.0.5", "192.168.1.1", "8.8.8.8", "0.0.0.0", "::", "fe80::1", "localhost", "pc-01"])
def test_non_loopback_address_rejected(address: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        FleetServer([sample_machine(address=address)])


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.20.7", "127.255.255.254", "::1", "[::1]"])
def test_loopback_address_accepted(address: str) -> None:
    assert check_loopback(address) == address.strip("[]")


def test_empty_fleet_rejected() -> None:
    with pytest.raises(ValueError, match="at least one machine"):
        FleetServer([])


def test_duplicate_target_rejected(make_machine) -> None:
    first = make_machine(address="127.0.20.9", port=15999)
    second = make_machine(address="127.0.20.9", port=15999)
    with pytest.raises(ValueError, match="127.0.20.9:15999"):
        FleetServer([first, second]).start()


def test_invalid_account_rejected() -> None:
    with pytest.raises(ValueError, match="must not contain"):
        FleetServer([sample_machine()], users=[("CORP", "bad:name", "pw")])


def test_port_zero_gets_free_port(fleet_factory, make_machine) -> None:
    machines = [make_machine(), make_machine(faults=HostFaults(refuse_connection=True))]
    fleet = fleet_factory(machines)
    assert all(machine.port > 0 for machine in machines)
    assert fleet.targets == [f"127.0.0.1:{machine.port}" for machine in machines]


def test_ipv6_loopback_host(fleet_factory, make_machine) -> None:
    machine = make_machine(address="::1")
    fleet = fleet_factory([machine])
    assert fleet.targets == [f"[::1]:{machine.port}"]
    answer = requests.post(f"http://[::1]:{machine.port}/wsman", data=b"", timeout=5)
    assert answer.status_code == 401


def test_generated_account_and_users_file(fleet_factory, make_machine) -> None:
    fleet = fleet_factory([make_machine()])
    assert fleet.username.startswith("FLEET\\")
    assert len(fleet.password) >= 16
    accounts = read_users_file(fleet.users_file)
    assert accounts[0] == Account("FLEET", fleet.username.split("\\")[1], fleet.password)
    assert oct(os.stat(fleet.users_file).st_mode & 0o777) == "0o600"
    assert fleet.password not in repr(accounts[0])


def test_stop_removes_files_and_is_idempotent(make_machine) -> None:
    fleet = FleetServer([make_machine()], https=True)
    with fleet:
        users_file = fleet.users_file
        ca_bundle = fleet.ca_bundle_path
        assert ca_bundle is not None and os.path.exists(ca_bundle)
        assert os.environ.get("NTLM_USER_FILE")
    fleet.stop()
    assert not os.path.exists(users_file)
    assert not os.path.exists(ca_bundle)
    with pytest.raises(RuntimeError, match="not running"):
        fleet.users_file


def test_http_fleet_has_no_ca_bundle(fleet_factory, make_machine) -> None:
    assert fleet_factory([make_machine()]).ca_bundle_path is None


def test_unauthenticated_request_gets_challenge(fleet_factory, make_machine) -> None:
    machine = make_machine()
    fleet_factory([machine])
    answer = requests.post(f"http://{machine.target}/wsman", data=b"<x/>", timeout=5)
    assert answer.status_code == 401
    assert answer.raw.headers.getlist("WWW-Authenticate") == ["Negotiate", 'Basic realm="WSMAN"']


def test_wrong_path_and_method(fleet_factory, make_machine) -> None:
    machine = make_machine()
    fleet = fleet_factory([machine])
    auth = (fleet.username.split("\\")[1], fleet.password)
    assert requests.post(f"http://{machine.target}/other", data=b"", auth=auth, timeout=5).status_code == 404
    assert requests.get(f"http://{machine.target}/wsman", auth=auth, timeout=5).status_code == 405


def test_invalid_envelope_gets_soap_fault(fleet_factory, make_machine) -> None:
    machine = make_machine()
    fleet = fleet_factory([machine])
    auth = (fleet.username.split("\\")[1], fleet.password)
    answer = requests.post(f"http://{machine.target}/wsman", data=b"<not-soap/>", auth=auth, timeout=5)
    assert answer.status_code == 500
    fault = ET.fromstring(answer.content).find("s:Body/s:Fault", NS)
    assert fault is not None
    detail = fault.find("s:Detail/f:WSManFault", NS)
    assert detail is not None
    assert detail.get("Machine") == machine.name
    assert "SOAP 1.2 Envelope" in (detail.findtext("f:Message", "", NS))


def test_unknown_resource_uri_fault(fleet_factory, make_machine) -> None:
    machine = make_machine()
    fleet = fleet_factory([machine])
    auth = (fleet.username.split("\\")[1], fleet.password)
    envelope = (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header>'
        "<a:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/Get</a:Action>"
        "<a:MessageID>uuid:11111111-2222-3333-4444-555555555555</a:MessageID>"
        "<w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Service</w:ResourceURI>"
        "<w:OperationTimeout>PT5S</w:OperationTimeout>"
        "</s:Header><s:Body/></s:Envelope>"
    )
    answer = requests.post(f"http://{machine.target}/wsman", data=envelope.encode(), auth=auth, timeout=5)
    assert answer.status_code == 500
    root = ET.fromstring(answer.content)
    assert root.findtext("s:Header/a:RelatesTo", "", NS) == "uuid:11111111-2222-3333-4444-555555555555"
    assert root.findtext("s:Body/s:Fault/s:Code/s:Subcode/s:Value", "", NS) == "w:DestinationUnreachable"


@pytest.mark.parametrize(("text", "seconds"), [("PT20.000S", 20.0), ("PT1M", 60.0), ("P1DT2H", 93600.0), ("PT0.5S", 0.5)])
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["20", "PT", "P", "PTxS", ""])
def test_parse_duration_invalid(text: str) -> None:
    with pytest.raises(ValueError, match="xs:duration"):
        parse_duration(text)


def test_users_file_invalid_line(tmp_path) -> None:
    path = tmp_path / "users.txt"
    path.write_text("CORP:scanner:pw\njust-a-name\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2: expected DOMAIN:USER:PASSWORD"):
        read_users_file(str(path))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["serve", "--hosts", "0"], "--hosts 0 is out of range"),
        (["serve", "--hosts", "2", "--base", "10.1.2.3"], "not a loopback address"),
        (["serve", "--hosts", "2", "--port", "70000"], "--port 70000 is out of range"),
    ],
)
def test_cli_rejects_bad_options(arguments: list[str], message: str, capsys) -> None:
    assert main(arguments) == 2
    assert message in capsys.readouterr().err


def test_serve_command_runs_until_interrupted(tmp_path) -> None:
    import signal
    import socket
    import subprocess
    import sys

    import winrm

    with socket.socket() as probe:
        probe.bind(("127.0.21.1", 0))
        port = probe.getsockname()[1]
    targets = tmp_path / "targets.txt"
    users = tmp_path / "users.txt"
    users.write_text("CORP:scanner:Serve#Pass1\n", encoding="utf-8")
    command = [
        sys.executable, "-m", "makaudit.testing.fleet", "serve", "--hosts", "2", "--base", "127.0.21.1",
        "--port", str(port), "--users", str(users), "--targets", str(targets),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for _ in range(50):
            line = process.stdout.readline()
            lines.append(line)
            if not line or "press Ctrl+C" in line:
                break
        assert any("press Ctrl+C" in line for line in lines), "".join(lines)
        assert targets.read_text(encoding="utf-8").splitlines() == [f"127.0.21.1:{port}", f"127.0.21.2:{port}"]
        session = winrm.Session(f"http://127.0.21.2:{port}/wsman", auth=("CORP\\scanner", "Serve#Pass1"), transport="ntlm", proxy=None, ca_trust_path=None)
        assert session.run_cmd("hostname").status_code == 0
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
