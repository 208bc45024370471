"""What an emulated host prints for PowerShell scripts and cmd command lines."""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET

import pytest

from makaudit.testing.endpoint import (
    MAX_COMMAND_LINE,
    command_reads_stdin,
    run_cmd,
    run_powershell,
)
from makaudit.testing.machine import HostFaults
from makaudit.testing.pytest_plugin import sample_machine

COLLECTION_SCRIPT = "Get-CimInstance SoftwareLicensingProduct -Filter 'PartialProductKey IS NOT NULL' | ConvertTo-Json"
CLIXML_NS = {"ps": "http://schemas.microsoft.com/powershell/2004/04"}


def encoded(script: str) -> str:
    return base64.b64encode(script.encode("utf-16-le")).decode("ascii")


def clixml_root(stderr: bytes) -> ET.Element:
    text = stderr.decode("utf-8")
    assert text.startswith("#< CLIXML\r\n")
    return ET.fromstring(text[len("#< CLIXML\r\n") :])


def test_collection_script_prints_document() -> None:
    machine = sample_machine("PC-0100")
    outcome = run_powershell(machine, COLLECTION_SCRIPT)
    assert outcome.exit_code == 0
    assert outcome.errors == []
    assert outcome.progress is False
    assert len(outcome.output) == 1
    assert json.loads(outcome.output[0]) == machine.document


def test_collection_document_is_a_copy() -> None:
    machine = sample_machine()
    outcome = run_powershell(machine, COLLECTION_SCRIPT + " # makaudit:no-slmgr")
    assert json.loads(outcome.output[0])["slmgr_dlv"] is None
    assert machine.document["slmgr_dlv"] is not None


def test_wmi_broken_empties_products() -> None:
    machine = sample_machine(faults=HostFaults(wmi_broken=True))
    document = json.loads(run_powershell(machine, COLLECTION_SCRIPT).output[0])
    assert document["products"] == []
    assert document["ospp_products"] == []
    assert document["errors"][-1]["source"] == "wmi"
    assert document["errors"][-1]["message"].startswith('Invalid class "SoftwareLicensingProduct"')
    assert document["computer"] == machine.document["computer"]


def test_garbage_output_is_not_json() -> None:
    machine = sample_machine(faults=HostFaults(garbage_output=True))
    outcome = run_powershell(machine, COLLECTION_SCRIPT)
    assert outcome.exit_code == 0
    with pytest.raises(json.JSONDecodeError):
        json.loads("\n".join(outcome.output))


def test_progress_and_delay_faults() -> None:
    machine = sample_machine(faults=HostFaults(progress_stderr=True, script_seconds=4.5))
    outcome = run_powershell(machine, COLLECTION_SCRIPT)
    assert outcome.progress is True
    assert outcome.delay_seconds == 4.5
    assert outcome.exit_code == 0


def test_unknown_cmdlet_is_command_not_found() -> None:
    outcome = run_powershell(sample_machine(), "  # comment\nGet-Nothing -Verbose")
    assert outcome.exit_code == 1
    assert outcome.output == []
    [error] = outcome.errors
    assert error.message.startswith("The term 'Get-Nothing' is not recognized as the name of a cmdlet")
    assert error.message.endswith("verify that the path is correct and try again.")
    assert error.category == "ObjectNotFound"
    assert error.fully_qualified_error_id == "CommandNotFoundException"
    assert error.target_name == "Get-Nothing"


def test_empty_script_does_nothing() -> None:
    outcome = run_powershell(sample_machine(), "\n  \n")
    assert outcome.exit_code == 0
    assert outcome.output == []
    assert outcome.errors == []


@pytest.mark.parametrize(
    "command_line",
    [
        r"cscript //nologo C:\Windows\System32\slmgr.vbs /dlv all",
        r"CSCRIPT.EXE //NoLogo %SystemRoot%\System32\SLMGR.VBS /DLV",
        r'cscript //nologo "C:\Windows\System32\slmgr.vbs" -dlv ALL',
    ],
)
def test_slmgr_dlv_prints_text(command_line: str) -> None:
    machine = sample_machine()
    outcome = run_cmd(machine, command_line, b"")
    assert outcome.exit_code == 0
    assert outcome.stderr == b""
    assert outcome.stdout == machine.slmgr_text.encode("utf-8")


def test_slmgr_without_nologo_prints_banner() -> None:
    machine = sample_machine()
    outcome = run_cmd(machine, r"cscript C:\Windows\System32\slmgr.vbs /dlv", b"")
    assert outcome.stdout.startswith(b"Microsoft (R) Windows Script Host Version")
    assert outcome.stdout.endswith(machine.slmgr_text.encode("utf-8"))


def test_slmgr_output_has_crlf_line_ends() -> None:
    machine = sample_machine()
    machine.slmgr_text = "Name: Windows\nLicense Status: Licensed"
    outcome = run_cmd(machine, r"cscript //nologo C:\Windows\System32\slmgr.vbs /dlv all", b"")
    assert outcome.stdout == b"Name: Windows\r\nLicense Status: Licensed\r\n"


@pytest.mark.parametrize("switch", ["-EncodedCommand", "-encodedcommand", "-enc", "-e", "-ec", "-EncodedC"])
def test_powershell_encoded_command(switch: str) -> None:
    machine = sample_machine()
    command_line = f"powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass {switch} {encoded(COLLECTION_SCRIPT)}"
    outcome = run_cmd(machine, command_line, b"")
    assert outcome.exit_code == 0
    assert outcome.stderr == b""
    assert outcome.stdout.endswith(b"\r\n")
    assert json.loads(outcome.stdout.decode("utf-8")) == machine.document


def test_powershell_script_from_stdin() -> None:
    machine = sample_machine()
    stdin = (COLLECTION_SCRIPT + "\r\n").encode("cp437")
    outcome = run_cmd(machine, "powershell -NoProfile -Command -", stdin)
    assert outcome.exit_code == 0
    assert json.loads(outcome.stdout) == machine.document


def test_powershell_errors_as_clixml() -> None:
    outcome = run_cmd(sample_machine(), "powershell -encodedcommand " + encoded("Get-Nothing"), b"")
    assert outcome.exit_code == 1
    assert outcome.stdout == b""
    root = clixml_root(outcome.stderr)
    lines = [element.text or "" for element in root.findall("ps:S", CLIXML_NS)]
    assert all(element.get("S") == "Error" for element in root.findall("ps:S", CLIXML_NS))
    assert lines[0].startswith("Get-Nothing : The term 'Get-Nothing' is not recognized")
    assert all(line.endswith("_x000D__x000A_") for line in lines)
    assert any("CategoryInfo          : ObjectNotFound" in line for line in lines)
    assert any("FullyQualifiedErrorId : CommandNotFoundException" in line for line in lines)


def test_progress_record_as_clixml_with_exit_zero() -> None:
    machine = sample_machine(faults=HostFaults(progress_stderr=True))
    outcome = run_cmd(machine, "powershell -encodedcommand " + encoded(COLLECTION_SCRIPT), b"")
    assert outcome.exit_code == 0
    assert json.loads(outcome.stdout) == machine.document
    root = clixml_root(outcome.stderr)
    [progress] = root.findall("ps:Obj", CLIXML_NS)
    assert progress.get("S") == "progress"
    assert root.findall("ps:S", CLIXML_NS) == []


def test_invalid_encoded_command() -> None:
    outcome = run_cmd(sample_machine(), "powershell -EncodedCommand not*base64", b"")
    assert outcome.exit_code == 1
    assert b"not properly encoded" in outcome.stderr


def test_unknown_powershell_parameter() -> None:
    outcome = run_cmd(sample_machine(), "powershell -Frobnicate " + encoded("x"), b"")
    assert outcome.exit_code == 1
    assert b"'-Frobnicate' is not recognized as a parameter" in outcome.stderr


def test_long_command_line_is_rejected() -> None:
    command_line = "powershell -encodedcommand " + "A" * MAX_COMMAND_LINE
    outcome = run_cmd(sample_machine(), command_line, b"")
    assert outcome.exit_code == 1
    assert outcome.stdout == b""
    assert outcome.stderr == b"The command line is too long.\r\n"


def test_longest_command_line_is_accepted() -> None:
    prefix = "powershell -encodedcommand "
    script = "Get-X " + "#" * 3000
    command_line = prefix + encoded(script)
    assert len(command_line) <= MAX_COMMAND_LINE
    outcome = run_cmd(sample_machine(), command_line, b"")
    assert b"Get-X" in outcome.stderr


def test_unknown_command_not_recognized() -> None:
    outcome = run_cmd(sample_machine(), "ipconfig /all", b"")
    assert outcome.exit_code == 1
    assert outcome.stdout == b""
    assert outcome.stderr == b"'ipconfig' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n"


def test_hostname_prints_computer_name() -> None:
    outcome = run_cmd(sample_machine("PC-0777"), "hostname", b"")
    assert outcome.stdout == b"PC-0777\r\n"
    assert outcome.exit_code == 0


@pytest.mark.parametrize(
    ("command_line", "expected"),
    [
        ("powershell -NoProfile -Command -", True),
        ("powershell.exe -ExecutionPolicy Bypass -Command -", True),
        ("powershell", True),
        ("powershell -enc AAAA", False),
        ("powershell -Command Get-Date", False),
        ("cmd /c dir", False),
    ],
)
def test_command_reads_stdin(command_line: str, expected: bool) -> None:
    assert command_reads_stdin(command_line) is expected
