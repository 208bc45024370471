"""Connection options shared by the WinRM and PSRP collectors."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

from makaudit.errors import UsageError

logger = logging.getLogger(__name__)

HTTP_PORT = 5985
HTTPS_PORT = 5986


class Transport(enum.StrEnum):
    """Protocol used to run the collection script."""

    WINRM = "winrm"
    PSRP = "psrp"


class AuthMethod(enum.StrEnum):
    """HTTP authentication scheme of the WinRM service."""

    NTLM = "ntlm"
    KERBEROS = "kerberos"
    NEGOTIATE = "negotiate"
    BASIC = "basic"
    CREDSSP = "credssp"

    @property
    def encrypts_messages(self) -> bool:
        """True when the scheme can wrap WinRM messages over plain HTTP."""
        return self is not AuthMethod.BASIC


@dataclass(frozen=True)
class ConnectionOptions:
    """How to reach and authenticate to every endpoint of a scan.

    ``port`` None means the WinRM default, 5985 for HTTP and 5986 for HTTPS.
    Timeouts are in seconds: ``connect_timeout`` for the TCP and TLS
    handshake, ``operation_timeout`` for the WS-Management OperationTimeout
    of each request, and ``read_timeout`` for one HTTP response, which must
    exceed the operation timeout (None derives it).
    """

    transport: Transport = Transport.WINRM
    auth: AuthMethod = AuthMethod.NTLM
    https: bool = False
    port: int | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_bundle: Path | None = None
    verify_tls: bool = True
    allow_unencrypted: bool = False
    connect_timeout: float = 10.0
    operation_timeout: int = 20
    read_timeout: float | None = None
    no_slmgr: bool = False
    debug_protocol: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "transport", _parse_enum(Transport, self.transport, "transport"))
        object.__setattr__(self, "auth", _parse_enum(AuthMethod, self.auth, "auth"))
        if self.ca_bundle is not None:
            object.__setattr__(self, "ca_bundle", Path(self.ca_bundle))

        self._check_port()
        self._check_timeouts()
        self._check_encryption()
        self._check_tls()

    def __repr__(self) -> str:
        masked = None if self.password is None else "********"
        return (
            f"ConnectionOptions(transport={self.transport.value!r}, auth={self.auth.value!r}, "
            f"https={self.https}, port={self.effective_port}, username={self.username!r}, "
            f"password={masked!r}, verify_tls={self.verify_tls}, ca_bundle={self.ca_bundle!r}, "
            f"no_slmgr={self.no_slmgr})"
        )

    @property
    def effective_port(self) -> int:
        """The port used when a target names none."""
        if self.port is not None:
            return self.port
        return HTTPS_PORT if self.https else HTTP_PORT

    @property
    def effective_read_timeout(self) -> float:
        """The HTTP read timeout, derived as operation timeout + 10 s unless set."""
        if self.read_timeout is not None:
            return self.read_timeout
        return float(self.operation_timeout + 10)

    @property
    def tls_verify_setting(self) -> bool | str:
        """Value for requests' ``verify``: False, True, or the CA bundle path."""
        if not self.verify_tls:
            return False
        if self.ca_bundle is not None:
            return str(self.ca_bundle)
        return True

    @property
    def sends_plain_basic(self) -> bool:
        return self.auth is AuthMethod.BASIC and not self.https

    def with_password(self, password: str) -> "ConnectionOptions":
        return replace(self, password=password)

    def _check_port(self) -> None:
        if self.port is not None and not 1 <= self.port <= 65535:
            raise UsageError(f"invalid port {self.port}: expected a number from 1 to 65535")

    def _check_timeouts(self) -> None:
        if self.connect_timeout <= 0:
            raise UsageError(f"invalid connect timeout {self.connect_timeout}: expected seconds above 0")
        if self.operation_timeout < 1:
            raise UsageError(f"invalid operation timeout {self.operation_timeout}: expected at least 1 second")
        if self.read_timeout is not None and self.read_timeout <= self.operation_timeout:
            raise UsageError(
                f"invalid read timeout {self.read_timeout}: it must exceed the operation timeout "
                f"({self.operation_timeout} s), because the WinRM service may hold a request that long"
            )

    def _check_encryption(self) -> None:
        if self.sends_plain_basic and not self.allow_unencrypted:
            raise UsageError(
                "Basic authentication over plain HTTP sends the password readable on the network and is "
                "rejected: use --https, or an authentication that encrypts messages (ntlm, kerberos, "
                "negotiate, credssp), or pass --allow-unencrypted if the endpoints really accept it"
            )

    def _check_tls(self) -> None:
        if self.ca_bundle is not None and not self.https:
            raise UsageError(f"a CA bundle ({self.ca_bundle}) only applies with --https")
        if self.ca_bundle is not None and not self.ca_bundle.is_file():
            raise UsageError(f"CA bundle not found: {self.ca_bundle}; give the path of a PEM file")
        if self.https and not self.verify_tls:
            logger.warning(
                "TLS certificate validation is disabled (--no-verify-tls): "
                "any server can pose as the endpoints and read the credentials"
            )


def _parse_enum(kind: type[enum.StrEnum], value: object, name: str) -> enum.StrEnum:
    if isinstance(value, kind):
        return value
    try:
        return kind(str(value).lower())
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise UsageError(f"invalid {name} {value!r}: expected one of {choices}") from None
