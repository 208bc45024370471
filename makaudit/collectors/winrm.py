"""Collector over WinRM with pywinrm: runs collect.ps1 through powershell.exe in a cmd shell."""

from __future__ import annotations

import logging
import math

import requests
import winrm.transport
from winrm.exceptions import WinRMOperationTimeoutError
from winrm.protocol import Protocol

from makaudit.collectors.clixml import decode_stderr
from makaudit.collectors.failures import PHASE_RUN
from makaudit.collectors.interface import DEFAULT_HOST_TIMEOUT, Deadline, RemoteCollector, ScriptOutput, Step
from makaudit.collectors.options import AuthMethod, ConnectionOptions
from makaudit.collectors.script import CollectionScript
from makaudit.collectors.targets import Target
from makaudit.errors import UsageError

logger = logging.getLogger(__name__)

UTF8_CODE_PAGE = 65001
CLEANUP_TIMEOUT = 2.0
"""Seconds allowed for each request that ends a command or closes a shell."""

# pywinrm's names for the authentication schemes it implements; it has no SPNEGO "negotiate".
_PYWINRM_AUTH = {
    AuthMethod.NTLM: "ntlm",
    AuthMethod.KERBEROS: "kerberos",
    AuthMethod.BASIC: "basic",
    AuthMethod.CREDSSP: "credssp",
}


class WinRMCollector(RemoteCollector):
    """Runs the collection script with pywinrm; one instance per worker thread.

    The script goes on the command line as ``-EncodedCommand`` when it fits the
    8,191 characters of cmd.exe, else on stdin (``force_stdin`` forces that).
    Each host gets its own pywinrm Protocol and shell, closed before returning.
    """

    def __init__(
        self, options: ConnectionOptions, host_timeout: float = DEFAULT_HOST_TIMEOUT, *, force_stdin: bool = False
    ) -> None:
        super().__init__(options, host_timeout)
        self.auth = _pywinrm_auth(options.auth)
        self.force_stdin = force_stdin

    @property
    def use_stdin(self) -> bool:
        """True when the script goes on stdin: forced, or too long for the command line."""
        return self.force_stdin or not self.script.fits_command_line

    def _run_script(self, target: Target, script: CollectionScript, deadline: Deadline, step: Step) -> ScriptOutput:
        protocol = self._protocol(target)
        try:
            self._limit_timeouts(protocol, deadline)
            shell_id = protocol.open_shell(codepage=UTF8_CODE_PAGE, noprofile=True)
            try:
                step.phase = PHASE_RUN
                return self._run_in_shell(protocol, shell_id, script, deadline, str(target))
            finally:
                _set_cleanup_timeouts(protocol)
                _close_quietly(protocol, shell_id, str(target))
        finally:
            protocol.transport.close_session()

    def _run_in_shell(
        self, protocol: Protocol, shell_id: str, script: CollectionScript, deadline: Deadline, name: str
    ) -> ScriptOutput:
        if self.force_stdin or not script.fits_command_line:
            command_id = protocol.run_command(shell_id, script.stdin_command)
            protocol.send_command_input(shell_id, command_id, script.stdin_text, end=True)
        else:
            command_id = protocol.run_command(shell_id, script.encoded_command)

        # A command that reported Done needs no terminate Signal, because deleting the shell
        # releases it. Only a command cut short gets the Signal, which saves one round trip per host.
        try:
            stdout, stderr, exit_code = self._receive_all(protocol, shell_id, command_id, deadline, name)
        except BaseException:
            _set_cleanup_timeouts(protocol)
            _cleanup_quietly(protocol, shell_id, command_id, name)
            raise

        return ScriptOutput(
            stdout=stdout.decode("utf-8", errors="replace"),
            stderr=decode_stderr(stderr.decode("utf-8", errors="replace")),
            exit_code=exit_code,
        )

    def _receive_all(
        self, protocol: Protocol, shell_id: str, command_id: str, deadline: Deadline, name: str
    ) -> tuple[bytes, bytes, int]:
        """Read output until the command is done; pywinrm's own loop retries w:TimedOut forever."""
        stdout: list[bytes] = []
        stderr: list[bytes] = []
        while True:
            deadline.check(name, PHASE_RUN)
            self._limit_timeouts(protocol, deadline)
            try:
                out, err, exit_code, done = protocol.get_command_output_raw(shell_id, command_id)
            except WinRMOperationTimeoutError:
                continue
            stdout.append(out)
            stderr.append(err)
            if done:
                return b"".join(stdout), b"".join(stderr), exit_code

    def _protocol(self, target: Target) -> Protocol:
        options = self.options
        scheme = "https" if options.https else "http"
        port = target.port or options.effective_port
        endpoint = f"{scheme}://{target.url_host}:{port}/wsman"

        verify = options.tls_verify_setting
        protocol = Protocol(
            endpoint,
            transport=self.auth,
            username=options.username,
            password=options.password,
            server_cert_validation="validate" if verify else "ignore",
            ca_trust_path=verify if isinstance(verify, str) else None,
            read_timeout_sec=math.ceil(options.effective_read_timeout),
            operation_timeout_sec=options.operation_timeout,
            message_encryption="auto",
            proxy=None,
        )
        # Swapping the class keeps the transport that Protocol built from its own arguments.
        protocol.transport.__class__ = _NoEnvironmentTransport
        return protocol

    def _limit_timeouts(self, protocol: Protocol, deadline: Deadline) -> None:
        """Cut the next request's timeouts to the time left, so that one request cannot outlast the host deadline.

        pywinrm hands ``read_timeout_sec`` to requests as is, so a (connect, read) tuple works.
        """
        remaining = deadline.remaining()
        read = max(0.5, min(self.options.effective_read_timeout, remaining + 0.5))
        connect = max(0.5, min(self.options.connect_timeout, remaining + 0.5))
        protocol.transport.read_timeout_sec = (connect, read)  # type: ignore[assignment]
        protocol.operation_timeout_sec = max(1, min(self.options.operation_timeout, int(read) - 1))


class _NoEnvironmentTransport(winrm.transport.Transport):
    """pywinrm's transport with a requests session that ignores proxy environment variables.

    ``proxy=None`` already makes pywinrm bypass every proxy, yet requests with
    ``trust_env`` on still scans the environment for proxy settings before
    each request. That scan is a measurable share of the CPU time per host in
    large scans. The CA bundle comes from the options, not from the environment.
    """

    def build_session(self) -> requests.Session:
        if self.session is None:
            super().build_session()
        assert self.session is not None
        self.session.trust_env = False
        return self.session

    def setup_encryption(self, session: requests.Session) -> None:
        # build_session calls this before it returns, and this sends the first requests.
        session.trust_env = False
        super().setup_encryption(session)


def _pywinrm_auth(auth: AuthMethod) -> str:
    if auth is AuthMethod.NEGOTIATE:
        raise UsageError("--auth negotiate is not available with --transport winrm: use ntlm or kerberos, or --transport psrp")
    if auth is AuthMethod.KERBEROS and not winrm.transport.HAVE_KERBEROS:
        raise UsageError("Kerberos over pywinrm needs its Kerberos extra: pip install 'pywinrm[kerberos]', or use --transport psrp")
    if auth is AuthMethod.CREDSSP and not winrm.transport.HAVE_CREDSSP:
        raise UsageError("CredSSP over pywinrm needs requests-credssp: pip install 'pywinrm[credssp]'")
    return _PYWINRM_AUTH[auth]


def _set_cleanup_timeouts(protocol: Protocol) -> None:
    """Bound the requests that end a command and close a shell, which run even after the host deadline."""
    protocol.transport.read_timeout_sec = (CLEANUP_TIMEOUT, CLEANUP_TIMEOUT)  # type: ignore[assignment]
    protocol.operation_timeout_sec = 1


def _cleanup_quietly(protocol: Protocol, shell_id: str, command_id: str, name: str) -> None:
    try:
        protocol.cleanup_command(shell_id, command_id)
    except Exception as error:  # noqa: BLE001 - the shell is closed next, which ends the command too
        logger.debug("%s: signalling the end of the command failed: %s", name, type(error).__name__)


def _close_quietly(protocol: Protocol, shell_id: str, name: str) -> None:
    try:
        protocol.close_shell(shell_id, close_session=False)
    except Exception as error:  # noqa: BLE001 - the service reaps idle shells after its IdleTimeout
        logger.debug("%s: closing shell %s failed: %s", name, shell_id, type(error).__name__)
