"""Behaviour of an emulated Windows host that runs a script or command, whatever the transport.

``run_powershell`` is what PowerShell does with a script: the collection script
prints the machine's endpoint document; anything else fails with the
CommandNotFoundException error record. ``run_cmd`` is what cmd.exe does with a
command line in a WinRS shell: slmgr through cscript, powershell.exe with an
encoded command or a script on stdin, and the errors cmd.exe prints otherwise.
Both honour the machine's ``HostFaults`` that concern the endpoint itself.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from makaudit.testing.machine import MachineDescription

COLLECTION_SCRIPT_MARKER = "SoftwareLicensingProduct"
"""Text that identifies the collection script: it queries this WMI class."""

NO_SLMGR_MARKER = "makaudit:no-slmgr"
"""A script containing this marker is served a document whose ``slmgr_dlv`` is null."""

MAX_COMMAND_LINE = 8191
"""Maximum length of a cmd.exe command line, in characters."""

WMI_INVALID_CLASS_MESSAGE = (
    'Invalid class "SoftwareLicensingProduct" (HRESULT 0x80041010). '
    "The WMI repository may be corrupt: run 'winmgmt /verifyrepository'."
)

CLIXML_HEADER = "#< CLIXML\r\n"
CLIXML_OPEN = '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
CLIXML_CLOSE = "</Objs>"
CLIXML_NEWLINE = "_x000D__x000A_"

CSCRIPT_BANNER = (
    "Microsoft (R) Windows Script Host Version 5.812\r\n"
    "Copyright (C) Microsoft Corporation. All rights reserved.\r\n"
    "\r\n"
)

_SLMGR_DLV = re.compile(
    r"""^\s*cscript(?:\.exe)?
        (?P<nologo>\s+//nologo)?
        \s+"?(?:[^"\s]*\\)?slmgr\.vbs"?
        \s+[/-]dlv(?:\s+all)?\s*$""",
    re.IGNORECASE | re.VERBOSE,
)

_POWERSHELL_EXECUTABLE = re.compile(r'^"?(?:[^"]*\\)?powershell(?:\.exe)?"?$', re.IGNORECASE)

# powershell.exe parameters that take a value, and those that are switches.
# PowerShell accepts any unambiguous prefix of a parameter name.
_VALUE_PARAMETERS = ("executionpolicy", "inputformat", "outputformat", "windowstyle", "version", "configurationname", "psconsolefile")
_SWITCH_PARAMETERS = ("noprofile", "noninteractive", "nologo", "noexit", "sta", "mta")
_ENCODED_COMMAND_NAMES = ("e", "ec", "enc", "encodedcommand")


@dataclass(frozen=True)
class ErrorInfo:
    """A PowerShell error record: message, category and fully qualified error id."""

    message: str
    category: str
    fully_qualified_error_id: str
    target_name: str = ""
    """The object the error is about (the unknown command's name for CommandNotFoundException)."""


@dataclass(frozen=True)
class PowerShellOutcome:
    """Result of running one PowerShell script."""

    output: list[str] = field(default_factory=list)
    """String objects written to the output stream, in order."""
    errors: list[ErrorInfo] = field(default_factory=list)
    progress: bool = False
    """True when the script writes a progress record ("Preparing modules for first use.")."""
    exit_code: int = 0
    delay_seconds: float = 0.0
    """Simulated time the script takes on the endpoint."""


@dataclass(frozen=True)
class CmdOutcome:
    """Result of running one command line in a cmd shell."""

    stdout: bytes = b""
    stderr: bytes = b""
    exit_code: int = 0
    delay_seconds: float = 0.0


def run_powershell(machine: MachineDescription, script: str) -> PowerShellOutcome:
    """Run ``script`` as the machine's PowerShell would and return what it produced."""
    if COLLECTION_SCRIPT_MARKER in script:
        return _run_collection_script(machine, script)

    command = _first_command_name(script)
    if command is None:
        return PowerShellOutcome()

    error = ErrorInfo(
        message=(
            f"The term '{command}' is not recognized as the name of a cmdlet, function, script file, "
            "or operable program. Check the spelling of the name, or if a path was included, "
            "verify that the path is correct and try again."
        ),
        category="ObjectNotFound",
        fully_qualified_error_id="CommandNotFoundException",
        target_name=command,
    )
    return PowerShellOutcome(errors=[error], exit_code=1)


def build_collection_document(machine: MachineDescription, script: str) -> dict[str, Any]:
    """Return the endpoint document the collection script prints on this machine, faults applied."""
    document = copy.deepcopy(machine.document)

    if NO_SLMGR_MARKER in script:
        document["slmgr_dlv"] = None

    if machine.faults.wmi_broken:
        document["products"] = []
        document["ospp_products"] = []
        errors = list(document.get("errors") or [])
        errors.append({"source": "wmi", "message": WMI_INVALID_CLASS_MESSAGE})
        document["errors"] = errors

    return document


def _run_collection_script(machine: MachineDescription, script: str) -> PowerShellOutcome:
    document = build_collection_document(machine, script)
    text = json.dumps(document, ensure_ascii=False)

    if machine.faults.garbage_output:
        # A profile that prints a banner and a pipeline cut short: not JSON.
        output = ["Loading personal and system profiles took 1412ms.", text[: len(text) // 2]]
    else:
        output = [text]

    return PowerShellOutcome(
        output=output,
        progress=machine.faults.progress_stderr,
        exit_code=0,
        delay_seconds=machine.faults.script_seconds,
    )


def _first_command_name(script: str) -> str | None:
    """Return the first command word of a script, skipping blank lines and comments."""
    for line in script.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        stripped = stripped.lstrip("&. ").strip()
        word = re.split(r"[\s;|(){}]", stripped, maxsplit=1)[0]
        return word.strip("'\"") or stripped
    return None


def run_cmd(machine: MachineDescription, command_line: str, stdin: bytes = b"") -> CmdOutcome:
    """Run ``command_line`` as cmd.exe in a WinRS shell would; ``stdin`` is what the client sent."""
    if len(command_line) > MAX_COMMAND_LINE:
        return CmdOutcome(stderr=b"The command line is too long.\r\n", exit_code=1)

    stripped = command_line.strip()
    if not stripped:
        return CmdOutcome()

    slmgr = _SLMGR_DLV.match(stripped)
    if slmgr is not None:
        return _run_slmgr(machine, with_banner=slmgr.group("nologo") is None)

    words = stripped.split()
    if _POWERSHELL_EXECUTABLE.match(words[0]):
        return _run_powershell_exe(machine, words[1:], stdin)

    if words[0].lower() == "hostname":
        name = str((machine.document.get("computer") or {}).get("name") or machine.name)
        return CmdOutcome(stdout=(name + "\r\n").encode("utf-8"))

    return _not_recognized(words[0])


def _run_slmgr(machine: MachineDescription, with_banner: bool) -> CmdOutcome:
    text = machine.slmgr_text.replace("\r\n", "\n").replace("\n", "\r\n")
    if not text.endswith("\r\n"):
        text += "\r\n"
    if with_banner:
        text = CSCRIPT_BANNER + text
    return CmdOutcome(stdout=text.encode("utf-8"), exit_code=0)


def _not_recognized(command: str) -> CmdOutcome:
    message = f"'{command}' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n"
    return CmdOutcome(stderr=message.encode("utf-8"), exit_code=1)


def _run_powershell_exe(machine: MachineDescription, arguments: list[str], stdin: bytes) -> CmdOutcome:
    """Parse powershell.exe's arguments, find the script, run it and encode its streams."""
    try:
        script = _script_from_arguments(arguments, stdin)
    except _PowerShellUsageError as error:
        return CmdOutcome(stderr=(str(error) + "\r\n").encode("utf-8"), exit_code=_USAGE_EXIT_CODE)

    outcome = run_powershell(machine, script)
    return CmdOutcome(
        stdout=encode_stdout(outcome.output),
        stderr=encode_clixml_stderr(outcome, script),
        exit_code=outcome.exit_code,
        delay_seconds=outcome.delay_seconds,
    )


_USAGE_EXIT_CODE = 1


class _PowerShellUsageError(Exception):
    """Arguments powershell.exe would reject."""


def _script_from_arguments(arguments: list[str], stdin: bytes) -> str:
    source, value = _parse_powershell_arguments(arguments)
    if source == "encoded":
        return _decode_encoded_command(value)
    if source == "stdin":
        return _decode_stdin_script(stdin)
    return value


def _parse_powershell_arguments(arguments: list[str]) -> tuple[str, str]:
    """Return where powershell.exe takes its script from: ``encoded``, ``stdin`` or ``inline``, and the value."""
    index = 0
    while index < len(arguments):
        argument = arguments[index]
        if not argument.startswith(("-", "/")):
            # powershell.exe takes the remaining words as the command.
            return "inline", " ".join(arguments[index:])

        name = argument[1:].lower()
        if name in _ENCODED_COMMAND_NAMES or (len(name) >= 4 and "encodedcommand".startswith(name)):
            if index + 1 >= len(arguments):
                raise _PowerShellUsageError("Cannot process the command because -EncodedCommand requires an argument.")
            return "encoded", arguments[index + 1]

        if name == "c" or (len(name) >= 2 and "command".startswith(name)):
            rest = arguments[index + 1 :]
            if rest == ["-"]:
                return "stdin", ""
            if not rest:
                raise _PowerShellUsageError("Cannot process the command because -Command requires an argument.")
            return "inline", " ".join(rest).strip('"')

        if _matches_parameter(name, _VALUE_PARAMETERS):
            index += 2
            continue
        if _matches_parameter(name, _SWITCH_PARAMETERS):
            index += 1
            continue

        raise _PowerShellUsageError(
            f"-{argument[1:]} : The term '-{argument[1:]}' is not recognized as a parameter of powershell.exe. "
            "Run 'powershell -?' for the list of parameters."
        )

    # No command at all: powershell.exe reads its commands from stdin.
    return "stdin", ""


def _matches_parameter(name: str, parameters: tuple[str, ...]) -> bool:
    return bool(name) and any(parameter.startswith(name) for parameter in parameters)


def _decode_encoded_command(value: str) -> str:
    try:
        raw = base64.b64decode(value, validate=True)
        return raw.decode("utf-16-le")
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise _PowerShellUsageError(
            "Cannot process the command because the value specified with -EncodedCommand is not properly "
            "encoded. The value must be Base64 encoded."
        ) from error


def _decode_stdin_script(stdin: bytes) -> str:
    # pywinrm encodes stdin in code page 437, the console code page it requests.
    return stdin.decode("cp437").replace("\r\n", "\n")


def encode_stdout(lines: list[str]) -> bytes:
    """Return PowerShell's stdout: each output line ended with CRLF, in UTF-8."""
    if not lines:
        return b""
    text = "".join(line.replace("\r\n", "\n").replace("\n", "\r\n") + "\r\n" for line in lines)
    return text.encode("utf-8")


def encode_clixml_stderr(outcome: PowerShellOutcome, script: str) -> bytes:
    """Return stderr as powershell.exe writes it over WinRM: CLIXML with progress and error records."""
    if not outcome.errors and not outcome.progress:
        return b""

    parts = [CLIXML_HEADER, CLIXML_OPEN]
    if outcome.progress:
        parts.append(_clixml_progress_record())
    for error in outcome.errors:
        parts.extend(_clixml_error_lines(error, script))
    parts.append(CLIXML_CLOSE)
    return "".join(parts).encode("utf-8")


def _clixml_progress_record() -> str:
    return (
        '<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T>'
        "<T>System.Object</T></TN><MS><I64 N=\"SourceId\">1</I64><PR N=\"Record\">"
        "<AV>Preparing modules for first use.</AV><AI>0</AI><Nil /><PI>-1</PI><PC>-1</PC>"
        "<T>Completed</T><SR>-1</SR><SD> </SD></PR></MS></Obj>"
    )


def _clixml_error_lines(error: ErrorInfo, script: str) -> list[str]:
    """Return the ``<S S="Error">`` lines of one error record as the console host formats it."""
    first_line = next((line for line in script.splitlines() if line.strip()), "")
    target = error.target_name or "<unknown>"
    lines = [
        f"{target} : {error.message}",
        "At line:1 char:1",
        f"+ {first_line.strip()}",
        "+ " + "~" * max(1, len(target)),
        f"    + CategoryInfo          : {error.category}: ({target}:String) [], {error.fully_qualified_error_id.split(',')[0]}",
        f"    + FullyQualifiedErrorId : {error.fully_qualified_error_id}",
        " ",
    ]
    return [f'<S S="Error">{escape(line)}{CLIXML_NEWLINE}</S>' for line in lines]


def command_reads_stdin(command_line: str) -> bool:
    """Return True when the command line takes its script from stdin (``powershell -Command -``).

    Such a command starts only once the client has sent the end of stdin.
    """
    words = command_line.strip().split()
    if len(command_line) > MAX_COMMAND_LINE or not words or not _POWERSHELL_EXECUTABLE.match(words[0]):
        return False
    try:
        source, _ = _parse_powershell_arguments(words[1:])
    except _PowerShellUsageError:
        return False
    return source == "stdin"
