"""Collector over PSRP with pypsrp: runs collect.ps1 in a remote runspace pool."""

from __future__ import annotations

import logging

import requests
from pypsrp.complex_objects import PSInvocationState
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan, _TransportHTTP

from makaudit.collectors.failures import PHASE_RUN
from makaudit.collectors.interface import DEFAULT_HOST_TIMEOUT, Deadline, RemoteCollector, ScriptOutput, Step
from makaudit.collectors.options import ConnectionOptions
from makaudit.collectors.script import CollectionScript
from makaudit.collectors.targets import Target

logger = logging.getLogger(__name__)

CLEANUP_TIMEOUT = 2.0
"""Seconds allowed for each request that stops a pipeline or closes the runspace pool."""


class PSRPCollector(RemoteCollector):
    """Runs the collection script with pypsrp; one instance per worker thread.

    PSRP sends the script as a pipeline command, so the cmd.exe command-line
    limit does not apply, and output arrives as Unicode objects with no code page.
    """

    def __init__(self, options: ConnectionOptions, host_timeout: float = DEFAULT_HOST_TIMEOUT) -> None:
        super().__init__(options, host_timeout)

    def _run_script(self, target: Target, script: CollectionScript, deadline: Deadline, step: Step) -> ScriptOutput:
        with self._wsman(target) as wsman:
            self._limit_timeouts(wsman, deadline)
            pool = RunspacePool(wsman)
            try:
                pool.open()
                step.phase = PHASE_RUN
                return self._invoke(pool, script, deadline, str(target))
            finally:
                wsman.transport.connection_timeout = CLEANUP_TIMEOUT
                wsman.transport.read_timeout = CLEANUP_TIMEOUT
                _close_quietly(pool, str(target))

    def _invoke(self, pool: RunspacePool, script: CollectionScript, deadline: Deadline, name: str) -> ScriptOutput:
        shell = PowerShell(pool)
        shell.add_script(script.text)
        shell.begin_invoke()

        # poll_invoke ignores w:TimedOut and returns, so the deadline is checked between polls.
        while shell.state == PSInvocationState.RUNNING:
            deadline.check(name, PHASE_RUN)
            self._limit_timeouts(pool.connection, deadline)
            shell.poll_invoke(timeout=self._poll_timeout(deadline))

        stdout = "\n".join(str(item) for item in shell.output if item is not None)
        errors = [_error_text(record) for record in shell.streams.error]
        return ScriptOutput(stdout=stdout, stderr="\n".join(errors), exit_code=1 if shell.had_errors else 0)

    def _wsman(self, target: Target) -> WSMan:
        options = self.options
        wsman = WSMan(
            target.host,
            port=target.port or options.effective_port,
            username=options.username,
            password=options.password,
            ssl=options.https,
            auth=options.auth.value,
            cert_validation=options.tls_verify_setting,
            connection_timeout=options.connect_timeout,
            read_timeout=options.effective_read_timeout,
            operation_timeout=options.operation_timeout,
            encryption="never" if options.sends_plain_basic else "auto",
            no_proxy=True,
            reconnection_retries=0,
        )
        # Swapping the class keeps the transport that WSMan built from its own arguments.
        wsman.transport.__class__ = _NoEnvironmentTransport
        return wsman

    def _limit_timeouts(self, wsman: WSMan, deadline: Deadline) -> None:
        """Cut the next request's timeouts to the time left, so that one request cannot outlast the host deadline."""
        remaining = deadline.remaining()
        wsman.transport.read_timeout = max(0.5, min(self.options.effective_read_timeout, remaining + 0.5))
        wsman.transport.connection_timeout = max(0.5, min(self.options.connect_timeout, remaining + 0.5))

    def _poll_timeout(self, deadline: Deadline) -> int:
        """OperationTimeout of the next Receive in whole seconds; pypsrp waits 2 s longer for the HTTP response."""
        return max(1, min(self.options.operation_timeout, int(deadline.remaining())))


class _NoEnvironmentTransport(_TransportHTTP):
    """pypsrp's HTTP transport with a requests session that ignores proxy environment variables.

    ``no_proxy=True`` already bypasses every proxy, yet requests with
    ``trust_env`` on still scans the environment for proxy settings before
    each request, a measurable share of the CPU time per host in large scans.
    pypsrp reads the environment once, when it builds the session, and that stays.

    NOTE: this extends pypsrp's private ``_TransportHTTP._build_session``
    (checked with pypsrp 0.9.1), so a pypsrp upgrade must be checked against it.
    """

    def _build_session(self) -> requests.Session:
        session = super()._build_session()
        session.trust_env = False
        return session


def _error_text(record: object) -> str:
    text = str(record).strip()
    if text:
        return text
    return str(getattr(record, "reason", None) or getattr(record, "fq_error", None) or "error record without a message")


def _close_quietly(pool: RunspacePool, name: str) -> None:
    try:
        pool.close()
    except Exception as error:  # noqa: BLE001 - the service reaps idle shells after its IdleTimeout
        logger.debug("%s: closing the runspace pool failed: %s", name, type(error).__name__)
