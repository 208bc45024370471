"""Translation of pywinrm, pypsrp, requests and pyspnego exceptions into CollectionError.

Both clients raise unrelated exception types: pywinrm's transport and timeout
errors do not derive from its WinRMError. So the collectors catch them where
they call the library, and this module classifies them by type into a host
status and a message naming the step that failed.
"""

from __future__ import annotations

import requests
import spnego.exceptions
import urllib3.exceptions
import winrm.exceptions as winrm_errors
from pypsrp import exceptions as psrp_errors

from makaudit.errors import CollectionError
from makaudit.model import HostStatus

PHASE_CONNECT = "connect"
PHASE_AUTHENTICATE = "authenticate"
PHASE_RUN = "run script"
PHASE_PARSE = "parse output"

WSMAN_QUOTA_LIMIT = 2150859173
"""WSManFault code of w:QuotaLimit: the user has too many shells open on the endpoint."""

WSMAN_TIMED_OUT = 2150858793
"""WSManFault code of w:TimedOut: a Receive got no output within the OperationTimeout."""

AUTH_ERRORS: tuple[type[BaseException], ...] = (
    winrm_errors.AuthenticationError,
    psrp_errors.AuthenticationError,
    spnego.exceptions.SpnegoError,
    PermissionError,
)

_BASIC_OVER_HTTP_HINT = (
    "; over plain HTTP Windows rejects Basic authentication unless the WinRM service allows both Basic "
    "and unencrypted traffic (AllowUnencrypted), so use --https or --auth ntlm"
)


def classify(error: BaseException, target: str, phase: str, *, plain_basic: bool = False) -> CollectionError:
    """Turn a library exception raised during ``phase`` into a CollectionError with a host status.

    ``plain_basic`` is True when Basic authentication went over plain HTTP. A 401
    then usually means that the service does not accept it, not a wrong password.
    """
    if isinstance(error, CollectionError):
        return error

    if isinstance(error, AUTH_ERRORS):
        message = f"the endpoint rejected the credentials ({_describe(error)})"
        if plain_basic:
            message += _BASIC_OVER_HTTP_HINT
        return CollectionError(target, PHASE_AUTHENTICATE, HostStatus.AUTH_FAILED, message)

    if isinstance(error, requests.exceptions.SSLError):
        cause = _root_cause(error)
        if "WRONG_VERSION_NUMBER" in cause.upper():
            advice = "the port answers without TLS; check --port, or leave out --https for an HTTP listener"
        else:
            advice = "give the CA that signed the endpoint certificates with --ca-bundle, or check that the name matches the certificate"
        return CollectionError(target, PHASE_CONNECT, HostStatus.ERROR, f"TLS handshake failed ({cause}); {advice}")

    if isinstance(error, requests.exceptions.ConnectTimeout):
        return CollectionError(target, PHASE_CONNECT, HostStatus.UNREACHABLE, "the connection timed out")

    if isinstance(error, (requests.exceptions.ReadTimeout, TimeoutError)):
        return CollectionError(target, phase, HostStatus.TIMEOUT, "the endpoint sent no response within the read timeout")

    if isinstance(error, requests.exceptions.ConnectionError):
        return _classify_connection_error(error, target, phase)

    if isinstance(error, (winrm_errors.WSManFaultError, psrp_errors.WSManFaultError)):
        return _classify_fault(error, target, phase)

    if isinstance(error, (winrm_errors.WinRMTransportError, psrp_errors.WinRMTransportError)):
        return CollectionError(target, phase, HostStatus.ERROR, f"the endpoint returned HTTP status {error.code}")

    if isinstance(error, winrm_errors.WinRMOperationTimeoutError):
        return CollectionError(target, phase, HostStatus.TIMEOUT, "the endpoint returned no output in time")

    return CollectionError(
        target,
        phase,
        HostStatus.ERROR,
        f"the endpoint did not answer as a WinRM service does ({_describe(error)}); check that --port, --https and "
        "--transport match the endpoint's WinRM listener",
    )


def is_transient(error: BaseException) -> bool:
    """True for failures worth one retry: a dropped connection or the w:QuotaLimit fault."""
    if isinstance(error, (winrm_errors.WSManFaultError, psrp_errors.WSManFaultError)):
        return _fault_code(error) == WSMAN_QUOTA_LIMIT

    if isinstance(error, requests.exceptions.ConnectionError) and not isinstance(
        error, (requests.exceptions.SSLError, requests.exceptions.ConnectTimeout)
    ):
        return not _is_refused(error)

    return False


def _classify_connection_error(error: requests.exceptions.ConnectionError, target: str, phase: str) -> CollectionError:
    if _is_refused(error):
        return CollectionError(
            target, PHASE_CONNECT, HostStatus.UNREACHABLE, "connection refused; check that the WinRM service listens on this port"
        )
    if phase == PHASE_CONNECT:
        return CollectionError(target, phase, HostStatus.UNREACHABLE, f"connection failed ({_root_cause(error)})")
    return CollectionError(target, phase, HostStatus.ERROR, f"the connection dropped ({_root_cause(error)})")


def _classify_fault(error: BaseException, target: str, phase: str) -> CollectionError:
    code = _fault_code(error)
    reason = (getattr(error, "reason", None) or "no reason given").strip()
    if code == WSMAN_QUOTA_LIMIT:
        message = (
            f"the endpoint refused a new shell because the user has too many open (w:QuotaLimit: {reason}); "
            "close idle sessions or raise MaxShellsPerUser"
        )
        return CollectionError(target, phase, HostStatus.ERROR, message)
    if code == WSMAN_TIMED_OUT:
        return CollectionError(target, phase, HostStatus.TIMEOUT, f"the operation timed out on the endpoint ({reason})")
    return CollectionError(target, phase, HostStatus.ERROR, f"WS-Management fault {code}: {reason}")


def _fault_code(error: BaseException) -> int | None:
    if isinstance(error, winrm_errors.WSManFaultError):
        return error.wsman_fault_code
    code = getattr(error, "code", None)
    try:
        return int(code) if code is not None else None
    except (TypeError, ValueError):
        return None


def _is_refused(error: BaseException) -> bool:
    return any(isinstance(cause, ConnectionRefusedError) for cause in _causes(error)) or "refused" in str(error).lower()


def _root_cause(error: BaseException) -> str:
    """Return the text of the innermost exception, which names what went wrong without urllib3's wrapping."""
    causes = list(_causes(error))
    innermost = causes[-1]
    if isinstance(innermost, urllib3.exceptions.MaxRetryError) and innermost.reason is not None:
        innermost = innermost.reason
    return _describe(innermost)


def _causes(error: BaseException):
    seen = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        if isinstance(current, urllib3.exceptions.MaxRetryError) and current.reason is not None:
            current = current.reason
            continue
        if current.args and isinstance(current.args[0], BaseException):
            current = current.args[0]
            continue
        current = current.__cause__ or current.__context__


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
