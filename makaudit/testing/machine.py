"""Description of one emulated Windows host: what it returns and which faults it injects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class HostFaults:
    """Faults of one emulated host; the defaults describe a healthy host."""

    refuse_connection: bool = False
    """Nothing listens on the host's address: clients get a connection error."""
    delay_seconds: float = 0.0
    """Sleep before every HTTP response (a slow host)."""
    hang: bool = False
    """Accept connections and never respond, so only the client's read timeout ends the wait."""
    auth_always_fails: bool = False
    """Every authentication attempt gets 401, whatever the credentials."""
    quota_limit: bool = False
    """Shell creation fails with the w:QuotaLimit SOAP fault (too many shells)."""
    garbage_output: bool = False
    """The collection script prints text that is not JSON."""
    wmi_broken: bool = False
    """The collection script prints a document with an ``errors`` entry and no products."""
    progress_stderr: bool = False
    """PowerShell writes a CLIXML progress record on stderr and still exits 0."""
    script_seconds: float = 0.0
    """Simulated time the collection script takes on the endpoint."""


@dataclass
class MachineDescription:
    """One emulated host: its network address, its endpoint document and its slmgr text."""

    name: str
    document: dict[str, Any]
    """The endpoint document (format makaudit-endpoint, version 1) the collection script prints."""
    slmgr_text: str
    """Output of ``cscript //nologo slmgr.vbs /dlv all``, in the host's UI language."""
    address: str = "127.0.20.1"
    port: int = 5985
    faults: HostFaults = field(default_factory=HostFaults)

    @property
    def target(self) -> str:
        """The target string a scan uses for this host (``ADDRESS:PORT``, brackets for IPv6)."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"
