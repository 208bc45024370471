"""WinRS cmd shells: Create, Command, Send, Receive, Signal and Delete as the WinRM service handles them."""

from __future__ import annotations

import base64
import binascii
import logging
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from makaudit.testing import endpoint
from makaudit.testing.server.base import (
    NS,
    RESOURCE_CMD,
    WSManFault,
    WSManPending,
    WSManRequest,
    WSManResponse,
)
from makaudit.testing.server.soap import q

logger = logging.getLogger(__name__)

TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
ACTION_CREATE = f"{TRANSFER}/Create"
ACTION_DELETE = f"{TRANSFER}/Delete"
ACTION_COMMAND = f"{SHELL}/Command"
ACTION_SEND = f"{SHELL}/Send"
ACTION_RECEIVE = f"{SHELL}/Receive"
ACTION_SIGNAL = f"{SHELL}/Signal"
STATE_DONE = f"{SHELL}/CommandState/Done"
STATE_RUNNING = f"{SHELL}/CommandState/Running"

DEFAULT_SHELLS_PER_USER = 30
"""Windows' MaxShellsPerUser default (Server 2012 and later)."""
DEFAULT_IDLE_TIMEOUT_SECONDS = 180.0
"""Shells with no request for this long are closed, as with WinRS' default IdleTimeout."""

# WSManFault codes of the WinRM service. Clients act on QuotaLimit and TimedOut,
# the codes pywinrm 0.5 and pypsrp 0.9 check for.
# NOTE: the codes for a missing shell, an unknown action and invalid input are
# unverified against a Windows capture. Clients only show them.
CODE_QUOTA_LIMIT = 2150859173
CODE_TIMED_OUT = 2150858793
CODE_SHELL_NOT_FOUND = 2150858843
CODE_ACTION_NOT_SUPPORTED = 2150858771
CODE_INVALID_INPUT = 2150858882


@dataclass
class _Command:
    command_id: str
    command_line: str
    created_at: float
    reads_stdin: bool
    stdin: bytearray = field(default_factory=bytearray)
    stdin_ended: bool = False
    outcome: endpoint.CmdOutcome | None = None
    ready_at: float | None = None
    delivered: bool = False


@dataclass
class _Shell:
    shell_id: str
    host: str
    username: str
    last_used: float
    commands: dict[str, _Command] = field(default_factory=dict)


def shell_timed_out_fault() -> WSManFault:
    """Return the fault a Receive gets when no output arrived within the OperationTimeout."""
    return WSManFault(
        "w:TimedOut",
        CODE_TIMED_OUT,
        "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.",
    )


class CmdShellHandler:
    """Serves WinRS cmd shells for every host of a fleet; thread-safe."""

    def __init__(
        self,
        shells_per_user: int = DEFAULT_SHELLS_PER_USER,
        idle_timeout_seconds: float = DEFAULT_IDLE_TIMEOUT_SECONDS,
    ) -> None:
        if shells_per_user < 1:
            raise ValueError(f"shells_per_user must be at least 1, got {shells_per_user}")
        self.shells_per_user = shells_per_user
        self.idle_timeout_seconds = idle_timeout_seconds
        self._shells: dict[str, _Shell] = {}
        self._lock = threading.Lock()

    def handles(self, resource_uri: str) -> bool:
        return resource_uri.lower() == RESOURCE_CMD

    def open_shell_count(self, host: str | None = None) -> int:
        """Return the number of open shells, on one host (``ADDRESS:PORT``) or on all."""
        with self._lock:
            return sum(1 for shell in self._shells.values() if host is None or shell.host == host)

    def handle(self, request: WSManRequest) -> WSManResponse:
        with self._lock:
            if request.action == ACTION_CREATE:
                return self._create(request)

            shell = self._find_shell(request)
            shell.last_used = time.monotonic()
            if request.action == ACTION_DELETE:
                del self._shells[shell.shell_id]
                logger.debug("closed shell %s on %s", shell.shell_id, shell.host)
                return WSManResponse(f"{TRANSFER}/DeleteResponse")
            if request.action == ACTION_COMMAND:
                return self._command(shell, request)
            if request.action == ACTION_SEND:
                return self._send(shell, request)
            if request.action == ACTION_RECEIVE:
                return self._receive(shell, request)
            if request.action == ACTION_SIGNAL:
                return self._signal(shell, request)

        raise WSManFault(
            "a:ActionNotSupported",
            CODE_ACTION_NOT_SUPPORTED,
            f"The action {request.action} is not supported by the WinRS cmd shell.",
        )

    def _create(self, request: WSManRequest) -> WSManResponse:
        self._close_idle_shells()
        host = request.machine.target
        open_for_user = sum(1 for shell in self._shells.values() if shell.host == host and shell.username == request.username)
        if request.machine.faults.quota_limit or open_for_user >= self.shells_per_user:
            limit = self.shells_per_user
            raise WSManFault(
                "w:QuotaLimit",
                CODE_QUOTA_LIMIT,
                "The WS-Management service cannot process the request. This user is allowed a maximum number of "
                f"{limit} concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user.",
            )

        shell_id = str(uuid.uuid4()).upper()
        self._shells[shell_id] = _Shell(shell_id, host, request.username, time.monotonic())
        logger.debug("opened shell %s on %s for %s", shell_id, host, request.username)
        return WSManResponse(f"{TRANSFER}/CreateResponse", _created_body(request, shell_id))

    def _close_idle_shells(self) -> None:
        limit = time.monotonic() - self.idle_timeout_seconds
        for shell_id in [key for key, shell in self._shells.items() if shell.last_used < limit]:
            logger.info("closed shell %s on %s after it was idle for %.0f s", shell_id, self._shells[shell_id].host, self.idle_timeout_seconds)
            del self._shells[shell_id]

    def _find_shell(self, request: WSManRequest) -> _Shell:
        shell_id = request.selectors.get("ShellId", "").upper()
        shell = self._shells.get(shell_id)
        if shell is None or shell.host != request.machine.target:
            raise WSManFault(
                "w:InvalidSelectors",
                CODE_SHELL_NOT_FOUND,
                f"The request for the Windows Remote Shell with ShellId {shell_id or '(none)'} failed because the shell "
                "was not found on the server. Possible causes are: the specified ShellId is incorrect or the shell no "
                "longer exists on the server. Provide the correct ShellId or create a new shell and retry the operation.",
            )
        return shell

    def _find_command(self, shell: _Shell, command_id: str | None) -> _Command:
        command = shell.commands.get((command_id or "").upper())
        if command is None:
            raise WSManFault(
                "w:InvalidSelectors",
                CODE_SHELL_NOT_FOUND,
                f"The Windows Remote Shell received a request for the command {command_id or '(none)'}, which does "
                f"not exist in shell {shell.shell_id}. Run the command again or use an existing CommandId.",
            )
        return command

    def _command(self, shell: _Shell, request: WSManRequest) -> WSManResponse:
        command_line_element = request.body.find("rsp:CommandLine", NS)
        if command_line_element is None:
            raise _invalid_input("the Command request has no rsp:CommandLine element")

        executable = (command_line_element.findtext("rsp:Command", "", NS) or "").strip()
        arguments = [element.text or "" for element in command_line_element.findall("rsp:Arguments", NS)]
        command_line = " ".join([executable, *arguments]).strip()

        command_id = (command_line_element.get("CommandId") or str(uuid.uuid4())).upper()
        now = time.monotonic()
        command = _Command(command_id, command_line, now, endpoint.command_reads_stdin(command_line))
        shell.commands[command_id] = command
        if not command.reads_stdin:
            self._start(command, request)

        body = ET.Element(q("rsp", "CommandResponse"))
        ET.SubElement(body, q("rsp", "CommandId")).text = command_id
        return WSManResponse(f"{SHELL}/CommandResponse", [body])

    @staticmethod
    def _start(command: _Command, request: WSManRequest) -> None:
        outcome = endpoint.run_cmd(request.machine, command.command_line, bytes(command.stdin))
        command.outcome = outcome
        command.ready_at = time.monotonic() + outcome.delay_seconds

    def _send(self, shell: _Shell, request: WSManRequest) -> WSManResponse:
        for stream in request.body.findall("rsp:Send/rsp:Stream", NS):
            command = self._find_command(shell, stream.get("CommandId"))
            if command.stdin_ended:
                raise _invalid_input(f"stdin of command {command.command_id} was already closed with End=\"true\"")
            try:
                command.stdin.extend(base64.b64decode(stream.text or "", validate=True))
            except binascii.Error as error:
                raise _invalid_input(f"the stdin stream of command {command.command_id} is not valid base64") from error
            if (stream.get("End") or "").lower() == "true":
                command.stdin_ended = True
                if command.reads_stdin and command.outcome is None:
                    self._start(command, request)

        body = ET.Element(q("rsp", "SendResponse"))
        return WSManResponse(f"{SHELL}/SendResponse", [body])

    def _receive(self, shell: _Shell, request: WSManRequest) -> WSManResponse:
        desired = request.body.find("rsp:Receive/rsp:DesiredStream", NS)
        command = self._find_command(shell, desired.get("CommandId") if desired is not None else None)

        if command.outcome is None or command.ready_at is None:
            # Waiting for stdin: the command never produces anything on its own.
            raise WSManPending(float("inf"))
        remaining = command.ready_at - time.monotonic()
        if remaining > 0:
            raise WSManPending(remaining)

        body = ET.Element(q("rsp", "ReceiveResponse"))
        if not command.delivered:
            _add_stream(body, "stdout", command.command_id, command.outcome.stdout)
            _add_stream(body, "stderr", command.command_id, command.outcome.stderr)
            command.delivered = True
        state = ET.SubElement(body, q("rsp", "CommandState"), {"CommandId": command.command_id, "State": STATE_DONE})
        ET.SubElement(state, q("rsp", "ExitCode")).text = str(command.outcome.exit_code)
        return WSManResponse(f"{SHELL}/ReceiveResponse", [body])

    def _signal(self, shell: _Shell, request: WSManRequest) -> WSManResponse:
        signal = request.body.find("rsp:Signal", NS)
        command_id = signal.get("CommandId") if signal is not None else None
        command = self._find_command(shell, command_id)
        del shell.commands[command.command_id]

        body = ET.Element(q("rsp", "SignalResponse"))
        return WSManResponse(f"{SHELL}/SignalResponse", [body])


def _invalid_input(detail: str) -> WSManFault:
    return WSManFault("w:InvalidParameter", CODE_INVALID_INPUT, f"The WinRS request is invalid: {detail}.")


def _add_stream(parent: ET.Element, name: str, command_id: str, data: bytes) -> None:
    if data:
        stream = ET.SubElement(parent, q("rsp", "Stream"), {"Name": name, "CommandId": command_id})
        stream.text = base64.b64encode(data).decode("ascii")
    ET.SubElement(parent, q("rsp", "Stream"), {"Name": name, "CommandId": command_id, "End": "true"})


def _created_body(request: WSManRequest, shell_id: str) -> list[ET.Element]:
    created = ET.Element(q("x", "ResourceCreated"))
    ET.SubElement(created, q("a", "Address")).text = f"http://{request.machine.target}/wsman"
    parameters = ET.SubElement(created, q("a", "ReferenceParameters"))
    ET.SubElement(parameters, q("w", "ResourceURI")).text = RESOURCE_CMD
    selectors = ET.SubElement(parameters, q("w", "SelectorSet"))
    ET.SubElement(selectors, q("w", "Selector"), {"Name": "ShellId"}).text = shell_id

    shell = ET.Element(q("rsp", "Shell"))
    ET.SubElement(shell, q("rsp", "ShellId")).text = shell_id
    ET.SubElement(shell, q("rsp", "ResourceUri")).text = RESOURCE_CMD
    ET.SubElement(shell, q("rsp", "Owner")).text = request.username
    ET.SubElement(shell, q("rsp", "ClientIP")).text = "127.0.0.1"
    ET.SubElement(shell, q("rsp", "IdleTimeOut")).text = f"PT{DEFAULT_IDLE_TIMEOUT_SECONDS:.3f}S"
    ET.SubElement(shell, q("rsp", "InputStreams")).text = "stdin"
    ET.SubElement(shell, q("rsp", "OutputStreams")).text = "stdout stderr"
    ET.SubElement(shell, q("rsp", "ShellRunTime")).text = "P0DT0H0M0S"
    ET.SubElement(shell, q("rsp", "ShellInactivity")).text = "P0DT0H0M0S"
    return [created, shell]
