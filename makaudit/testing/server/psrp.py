"""The PowerShell remoting (PSRP) plugin of an emulated Windows host.

Serves the WinRM shell actions that pypsrp and other PSRP clients send to
``http://schemas.microsoft.com/powershell/<configuration>``: Create (opening a
runspace pool from ``creationXml``), Command (creating a pipeline), Send,
Receive, Signal and Delete. The PSRP messages inside are handled by psrpcore;
each shell is a ``PowerShellSession``, kept per host and ShellId.
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
import time
import uuid
import xml.etree.ElementTree as ET

from makaudit.testing.server.base import (
    NS,
    RESOURCE_POWERSHELL_PREFIX,
    WSManFault,
    WSManRequest,
    WSManResponse,
)
from makaudit.testing.server.psrp_pipeline import ScriptRunner
from makaudit.testing.server.psrp_session import (
    INVALID_PARAMETER_CODE,
    SHELL_NOT_FOUND_CODE,
    PowerShellSession,
)

logger = logging.getLogger(__name__)

ACTION_CREATE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
ACTION_DELETE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
SHELL_ACTION_PREFIX = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/"
ACTION_COMMAND = SHELL_ACTION_PREFIX + "Command"
ACTION_SEND = SHELL_ACTION_PREFIX + "Send"
ACTION_RECEIVE = SHELL_ACTION_PREFIX + "Receive"
ACTION_SIGNAL = SHELL_ACTION_PREFIX + "Signal"

COMMAND_STATE_DONE = SHELL_ACTION_PREFIX + "CommandState/Done"
COMMAND_STATE_RUNNING = SHELL_ACTION_PREFIX + "CommandState/Running"

SIGNAL_TERMINATE = SHELL_ACTION_PREFIX + "signal/Terminate"
# Windows PowerShell spells its stop signal "crtl_c"; pypsrp 0.9.1 sends "ctrl_c". Both are accepted.
SIGNAL_PS_CTRL_C = ("powershell/signal/crtl_c", "powershell/signal/ctrl_c")

QUOTA_LIMIT_CODE = 2150859173
ACCESS_DENIED_CODE = 5
ACTION_NOT_SUPPORTED_CODE = 2150858771

MAX_SHELLS_PER_USER = 30
"""WinRM's default MaxShellsPerUser on Windows Server 2012 and later."""

DEFAULT_IDLE_TIMEOUT_SECONDS = 7200.0
"""IdleTimeoutms of the Microsoft.PowerShell session configuration (2 hours) when the client sets none."""

DEFAULT_OPERATION_TIMEOUT_SECONDS = 60.0
"""WinRM's MaxTimeoutms default, used when a request carries no OperationTimeout."""

DEFAULT_MAX_ENVELOPE_BYTES = 153600
"""pypsrp's MaxEnvelopeSize before it learns that the server speaks protocol 2.2 or later."""

_ENVELOPE_OVERHEAD_BYTES = 4096
_MIN_RECEIVE_BYTES = 1024

_RSP = NS["rsp"]


class PowerShellHandler:
    """Serves the PowerShell plugin resource URIs for every host of a fleet.

    ``run_script`` runs a script on an emulated host; the default is the
    endpoint emulation of ``makaudit.testing.endpoint``.
    """

    def __init__(self, run_script: ScriptRunner | None = None) -> None:
        if run_script is None:
            from makaudit.testing.endpoint import run_powershell

            run_script = run_powershell

        self._run_script = run_script
        self._sessions: dict[tuple[str, str], PowerShellSession] = {}
        self._lock = threading.Lock()

    def handles(self, resource_uri: str) -> bool:
        return resource_uri.startswith(RESOURCE_POWERSHELL_PREFIX)

    def handle(self, request: WSManRequest) -> WSManResponse:
        """Serve one WinRM shell action on a PowerShell resource URI."""
        if request.action == ACTION_CREATE:
            return self._create(request)
        if request.action == ACTION_COMMAND:
            return self._command(request)
        if request.action == ACTION_SEND:
            return self._send(request)
        if request.action == ACTION_RECEIVE:
            return self._receive(request)
        if request.action == ACTION_SIGNAL:
            return self._signal(request)
        if request.action == ACTION_DELETE:
            return self._delete(request)

        raise WSManFault(
            "a:ActionNotSupported",
            ACTION_NOT_SUPPORTED_CODE,
            f"The action {request.action} is not supported on {request.resource_uri}. "
            "The test fleet serves Create, Command, Send, Receive, Signal and Delete.",
        )

    def session_count(self, target: str | None = None) -> int:
        """Return how many shells are open, on one host (``ADDRESS:PORT``) or on all."""
        with self._lock:
            return sum(1 for key in self._sessions if target is None or key[0] == target)

    def _create(self, request: WSManRequest) -> WSManResponse:
        machine = request.machine
        if machine.faults.quota_limit:
            raise _quota_fault(request.username)

        shell = request.body.find("rsp:Shell", NS)
        if shell is None:
            raise _invalid("The Create request has no rsp:Shell element. Send the shell description in the body.")

        shell_id = (shell.get("ShellId") or str(uuid.uuid4())).upper()
        creation_data = _decode_base64(shell.findtext("pwsh:creationXml", default="", namespaces=NS), "creationXml")
        if not creation_data:
            raise _invalid(
                "The Create request for a PowerShell shell has no creationXml. "
                "Send the SessionCapability and InitRunspacePool fragments in pwsh:creationXml."
            )

        idle_timeout = _parse_duration(shell.findtext("rsp:IdleTimeOut", default="", namespaces=NS))
        session = PowerShellSession(
            shell_id=shell_id,
            owner=request.username,
            machine=machine,
            run_script=self._run_script,
            idle_timeout_seconds=idle_timeout or DEFAULT_IDLE_TIMEOUT_SECONDS,
        )
        session.open(creation_data)
        self._register(machine.target, session)
        logger.info("Opened PowerShell shell %s on %s for %s", shell_id, machine.target, request.username)

        return WSManResponse(
            action=ACTION_CREATE + "Response",
            body=[_resource_created(request, shell_id), _shell_element(request, shell, shell_id, session)],
        )

    def _command(self, request: WSManRequest) -> WSManResponse:
        session = self._session(request)
        command_line = request.body.find("rsp:CommandLine", NS)
        if command_line is None:
            raise _invalid("The Command request has no rsp:CommandLine element.")

        command_id_text = command_line.get("CommandId")
        if not command_id_text:
            raise _invalid(
                "The Command request has no CommandId. Set CommandId to the pipeline GUID of the CreatePipeline message."
            )
        command_id = _parse_command_id(command_id_text)
        arguments = command_line.findtext("rsp:Arguments", default="", namespaces=NS)
        session.create_pipeline(command_id, _decode_base64(arguments, "rsp:Arguments"))

        response = ET.Element(f"{{{_RSP}}}CommandResponse")
        ET.SubElement(response, f"{{{_RSP}}}CommandId").text = command_id_text.upper()
        return WSManResponse(action=ACTION_COMMAND + "Response", body=[response])

    def _send(self, request: WSManRequest) -> WSManResponse:
        session = self._session(request)
        streams = request.body.findall("rsp:Send/rsp:Stream", NS)
        if not streams:
            raise _invalid("The Send request has no rsp:Send/rsp:Stream element.")

        for stream in streams:
            command_id_text = stream.get("CommandId")
            command_id = _parse_command_id(command_id_text) if command_id_text else None
            session.send(command_id, _decode_base64(stream.text or "", "rsp:Stream"))

        return WSManResponse(action=ACTION_SEND + "Response", body=[ET.Element(f"{{{_RSP}}}SendResponse")])

    def _receive(self, request: WSManRequest) -> WSManResponse:
        session = self._session(request)
        desired = request.body.find("rsp:Receive/rsp:DesiredStream", NS)
        if desired is None:
            raise _invalid("The Receive request has no rsp:Receive/rsp:DesiredStream element.")

        command_id_text = desired.get("CommandId")
        command_id = _parse_command_id(command_id_text) if command_id_text else None
        timeout = request.operation_timeout_seconds or DEFAULT_OPERATION_TIMEOUT_SECONDS
        result = session.receive(command_id, _receive_budget(request), timeout)

        response = ET.Element(f"{{{_RSP}}}ReceiveResponse")
        for payload in result.payloads:
            stream = ET.SubElement(response, f"{{{_RSP}}}Stream", Name="stdout")
            if command_id_text:
                stream.set("CommandId", command_id_text.upper())
            stream.text = base64.b64encode(payload).decode("ascii")

        if command_id_text:
            state = COMMAND_STATE_DONE if result.done else COMMAND_STATE_RUNNING
            ET.SubElement(response, f"{{{_RSP}}}CommandState", CommandId=command_id_text.upper(), State=state)

        return WSManResponse(action=ACTION_RECEIVE + "Response", body=[response])

    def _signal(self, request: WSManRequest) -> WSManResponse:
        session = self._session(request)
        signal = request.body.find("rsp:Signal", NS)
        if signal is None or not signal.get("CommandId"):
            raise _invalid("The Signal request has no rsp:Signal element with a CommandId.")

        command_id = _parse_command_id(signal.get("CommandId", ""))
        code = (signal.findtext("rsp:Code", default="", namespaces=NS) or "").strip()
        if code in SIGNAL_PS_CTRL_C:
            session.stop_pipeline(command_id)
        elif code.lower() == SIGNAL_TERMINATE.lower():
            session.terminate_pipeline(command_id)
        else:
            raise _invalid(f"The signal code {code!r} is not supported. Send {SIGNAL_TERMINATE} or {SIGNAL_PS_CTRL_C[0]}.")

        return WSManResponse(action=ACTION_SIGNAL + "Response", body=[ET.Element(f"{{{_RSP}}}SignalResponse")])

    def _delete(self, request: WSManRequest) -> WSManResponse:
        session = self._session(request)
        with self._lock:
            self._sessions.pop((request.machine.target, session.shell_id), None)
        session.close()
        logger.info("Closed PowerShell shell %s on %s", session.shell_id, request.machine.target)
        return WSManResponse(action=ACTION_DELETE + "Response", body=[])

    def _register(self, target: str, session: PowerShellSession) -> None:
        now = time.monotonic()
        with self._lock:
            self._reap_idle(now)

            owned = sum(1 for key, other in self._sessions.items() if key[0] == target and other.owner == session.owner)
            if owned >= MAX_SHELLS_PER_USER:
                raise _quota_fault(session.owner)

            key = (target, session.shell_id)
            if key in self._sessions:
                raise _invalid(f"A shell with ShellId {session.shell_id} already exists. Create the shell with a new ShellId.")
            self._sessions[key] = session

    def _reap_idle(self, now: float) -> None:
        """Close the shells of every host that outlived their idle timeout, as WinRM does. Hold ``_lock``."""
        for key, session in list(self._sessions.items()):
            if session.is_idle(now):
                del self._sessions[key]
                session.close()
                logger.info("Closed idle PowerShell shell %s on %s", session.shell_id, key[0])

    def _session(self, request: WSManRequest) -> PowerShellSession:
        shell_id = request.selectors.get("ShellId", "").upper()
        with self._lock:
            session = self._sessions.get((request.machine.target, shell_id))

        if session is None:
            raise WSManFault(
                "w:InvalidSelectors",
                SHELL_NOT_FOUND_CODE,
                f"The shell with ShellId {shell_id or '(none)'} was not found on {request.machine.target}: "
                "it was deleted, timed out, or never created. Create a new shell.",
            )

        if session.owner != request.username:
            raise WSManFault(
                "w:AccessDenied",
                ACCESS_DENIED_CODE,
                f"The shell {shell_id} belongs to another user. Use the credentials that created it.",
            )

        return session


def _quota_fault(username: str) -> WSManFault:
    return WSManFault(
        "w:QuotaLimit",
        QUOTA_LIMIT_CODE,
        f"The user {username} has reached the maximum number of concurrent shells ({MAX_SHELLS_PER_USER}). "
        "Close existing shells or raise MaxShellsPerUser.",
    )


def _invalid(reason: str) -> WSManFault:
    return WSManFault("w:InvalidParameter", INVALID_PARAMETER_CODE, reason)


def _decode_base64(text: str, element: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as error:
        raise _invalid(f"The {element} element is not valid base64: {error}.") from error


def _parse_command_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError as error:
        raise _invalid(f"The CommandId {text!r} is not a GUID. PowerShell commands are addressed by GUID.") from error


def _parse_duration(text: str) -> float | None:
    """Return the seconds of a simple xs:duration such as ``PT180S`` or ``PT7200.000S``, or None."""
    text = text.strip()
    if not (text.startswith("PT") and text.endswith("S")):
        return None
    try:
        return float(text[2:-1])
    except ValueError:
        return None


def _receive_budget(request: WSManRequest) -> int:
    """Return how many bytes of PSRP fragments fit in the response, base64 and envelope included."""
    envelope_text = request.header.findtext("w:MaxEnvelopeSize", default="", namespaces=NS).strip()
    try:
        envelope_bytes = int(envelope_text) if envelope_text else DEFAULT_MAX_ENVELOPE_BYTES
    except ValueError:
        envelope_bytes = DEFAULT_MAX_ENVELOPE_BYTES

    return max(_MIN_RECEIVE_BYTES, (envelope_bytes - _ENVELOPE_OVERHEAD_BYTES) * 3 // 4)


def _resource_created(request: WSManRequest, shell_id: str) -> ET.Element:
    created = ET.Element(f"{{{NS['x']}}}ResourceCreated")
    address = request.header.findtext("a:To", default="", namespaces=NS) or f"http://{request.machine.target}/wsman"
    ET.SubElement(created, f"{{{NS['a']}}}Address").text = address

    parameters = ET.SubElement(created, f"{{{NS['a']}}}ReferenceParameters")
    ET.SubElement(parameters, f"{{{NS['w']}}}ResourceURI").text = request.resource_uri
    selectors = ET.SubElement(parameters, f"{{{NS['w']}}}SelectorSet")
    ET.SubElement(selectors, f"{{{NS['w']}}}Selector", Name="ShellId").text = shell_id
    return created


def _shell_element(request: WSManRequest, shell: ET.Element, shell_id: str, session: PowerShellSession) -> ET.Element:
    result = ET.Element(f"{{{_RSP}}}Shell")
    fields = [
        ("ShellId", shell_id),
        ("Name", shell.findtext("rsp:Name", default="", namespaces=NS) or "Runspace1"),
        ("ResourceUri", request.resource_uri),
        ("Owner", request.username),
        ("ProcessId", "4242"),
        ("IdleTimeOut", f"PT{session.idle_timeout_seconds:.3f}S"),
        ("InputStreams", shell.findtext("rsp:InputStreams", default="", namespaces=NS) or "stdin pr"),
        ("OutputStreams", shell.findtext("rsp:OutputStreams", default="", namespaces=NS) or "stdout"),
        ("MaxIdleTimeOut", "PT2147483.647S"),
        ("Locale", "en-US"),
        ("DataLocale", "en-US"),
        ("CompressionMode", "NoCompression"),
        ("ProfileLoaded", "Yes"),
        ("Encoding", "UTF8"),
        ("BufferMode", "Block"),
        ("State", "Connected"),
        ("ShellRunTime", "P0DT0H0M0S"),
        ("ShellInactivity", "P0DT0H0M0S"),
    ]
    for name, value in fields:
        ET.SubElement(result, f"{{{_RSP}}}{name}").text = value
    return result
