"""Interface between the WS-Management HTTP layer and the resource handlers.

The HTTP layer (authentication, message encryption, SOAP envelope parsing and
building) turns each request into a ``WSManRequest`` and hands it to the
handler registered for its resource URI: the WinRS cmd shell handler or the
PowerShell (PSRP) plugin handler. A handler returns the action URI and the
body element of the response, or raises ``WSManFault``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Protocol

from makaudit.testing.machine import MachineDescription

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "p": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
    "pwsh": "http://schemas.microsoft.com/powershell",
}

RESOURCE_CMD = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"
RESOURCE_POWERSHELL_PREFIX = "http://schemas.microsoft.com/powershell/"


@dataclass
class WSManRequest:
    """One decoded WS-Management request addressed to an emulated host."""

    action: str
    resource_uri: str
    message_id: str
    header: ET.Element
    body: ET.Element
    machine: MachineDescription
    username: str
    selectors: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    operation_timeout_seconds: float | None = None


class WSManFault(Exception):
    """A SOAP fault as the WinRM service sends it, with HTTP status 500.

    ``code`` is the WS-Management subcode (``w:QuotaLimit``, ``w:TimedOut``,
    ``w:InvalidSelectors``, ...), ``wsman_code`` the numeric WSManFault code
    (2150859173 for QuotaLimit, 2150858793 for TimedOut).
    """

    def __init__(self, code: str, wsman_code: int, reason: str, machine_text: str | None = None) -> None:
        self.code = code
        self.wsman_code = wsman_code
        self.reason = reason
        self.machine_text = machine_text or reason
        super().__init__(f"{code} ({wsman_code}): {reason}")


@dataclass
class WSManResponse:
    """The action URI and body children of a successful response."""

    action: str
    body: list[ET.Element] = field(default_factory=list)


class ResourceHandler(Protocol):
    """Serves the requests of one resource URI family for all hosts of a fleet."""

    def handles(self, resource_uri: str) -> bool: ...

    def handle(self, request: WSManRequest) -> WSManResponse: ...


class WSManPending(Exception):
    """Raised by a handler whose response is not ready yet (a Receive while the command still runs).

    The HTTP layer waits ``ready_in_seconds`` without blocking other hosts and calls
    ``handle`` again with the same request. When the request's OperationTimeout passes
    first, it answers the ``w:TimedOut`` fault as Windows does.
    """

    def __init__(self, ready_in_seconds: float) -> None:
        self.ready_in_seconds = max(0.0, ready_in_seconds)
        super().__init__(f"answer ready in {self.ready_in_seconds:.3f} s")
