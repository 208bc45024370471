"""The collector interface, and the steps every remote collector shares.

A collector turns one target into one HostResult. Library failures and
unreadable output become a status (unreachable, auth_failed, timeout, error)
and a message naming the step that failed, not an exception. Each collector instance belongs to
one worker thread, because the NTLM and Kerberos security context of an HTTP
connection forces strictly serial requests.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Protocol

from makaudit.collectors.failures import PHASE_CONNECT, PHASE_PARSE, PHASE_RUN, classify, is_transient
from makaudit.collectors.options import ConnectionOptions
from makaudit.collectors.script import CollectionScript, collection_script
from makaudit.collectors.targets import Target
from makaudit.errors import CollectionError, ParseError
from makaudit.model import EndpointState, HostResult, HostStatus
from makaudit.productkey import mask_full_keys

logger = logging.getLogger(__name__)

DEFAULT_HOST_TIMEOUT = 120.0
"""Seconds one host may take in total, retries included."""

RETRY_BACKOFF_SECONDS = 1.0
_OUTPUT_EXCERPT = 120


LIBRARY_LOGGERS = ("winrm", "pypsrp", "psrpcore", "requests", "requests_ntlm", "urllib3", "spnego")
"""Loggers of the client libraries; pypsrp logs whole WS-Management messages at DEBUG."""


class _DropTranslatedTracebacks(logging.Filter):
    """Filter that drops records with a traceback at ERROR and above.

    pypsrp.wsman logs read and connect timeouts with ``log.exception``, and the
    collector already reports each of them as a host result.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and record.levelno >= logging.ERROR)


_TRACEBACK_FILTER = _DropTranslatedTracebacks()


def configure_library_logging(debug_protocol: bool = False) -> None:
    """Keep the client libraries at WARNING, or let them log at DEBUG when protocol debugging is requested."""
    level = logging.DEBUG if debug_protocol else logging.WARNING
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(level)

    wsman_logger = logging.getLogger("pypsrp.wsman")
    if debug_protocol:
        wsman_logger.removeFilter(_TRACEBACK_FILTER)
    else:
        wsman_logger.addFilter(_TRACEBACK_FILTER)


class Collector(Protocol):
    """Collects the endpoint document of one target at a time."""

    def collect(self, target: Target) -> HostResult: ...

    def close(self) -> None: ...


class Deadline:
    """The moment by which one host must be done, on the monotonic clock."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self._end - time.monotonic())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0

    def check(self, target: str, phase: str) -> None:
        """Raise a timeout CollectionError once the deadline has passed."""
        if self.expired:
            raise self.timeout_error(target, phase)

    def timeout_error(self, target: str, phase: str) -> CollectionError:
        return CollectionError(
            target, phase, HostStatus.TIMEOUT, f"no result within the per-host timeout of {self.seconds:g} s"
        )


class Step:
    """The step a collection attempt is in, so that a failure can name it."""

    def __init__(self) -> None:
        self.phase = PHASE_CONNECT


@dataclass(frozen=True)
class ScriptOutput:
    """Output of the collection script on one endpoint: stdout, decoded stderr and exit code."""

    stdout: str
    stderr: str
    exit_code: int | None = 0


class RemoteCollector:
    """Shared flow of the WinRM and PSRP collectors: deadline, one retry, error translation, parsing.

    Subclasses implement ``_run_script(target, script, deadline, step)``, which
    calls the client library, updates ``step.phase`` as it goes, and returns
    the script output or lets the library's exception through.
    """

    def __init__(self, options: ConnectionOptions, host_timeout: float = DEFAULT_HOST_TIMEOUT) -> None:
        if options.password is None and options.username is not None:
            raise ValueError("ConnectionOptions.password is unset: read it with makaudit.collectors.credentials first")
        if host_timeout <= 0:
            raise ValueError(f"invalid host timeout {host_timeout}: expected seconds above 0")
        self.options = options
        self.host_timeout = host_timeout
        self.script: CollectionScript = collection_script(slmgr=not options.no_slmgr)
        configure_library_logging(options.debug_protocol)

    def collect(self, target: Target) -> HostResult:
        """Collect one target; failures come back as a HostResult with a status and a message."""
        started = time.monotonic()
        name = str(target)
        deadline = Deadline(self.host_timeout)

        try:
            output = self._run_with_retry(target, deadline)
            state = self._parse(name, output)
        except CollectionError as error:
            duration = time.monotonic() - started
            logger.info("%s: %s failed (%s): %s", name, error.phase, error.status.value, error.message)
            return HostResult(name, error.status, error=f"{error.phase} failed: {error.message}", duration_seconds=duration)

        duration = time.monotonic() - started
        logger.debug("%s: collected %d record(s) in %.2f s", name, len(state.records), duration)
        return HostResult(name, HostStatus.OK, state=state, duration_seconds=duration)

    def close(self) -> None:
        """Release resources; remote collectors open and close a session per host, so nothing stays open."""

    def _run_with_retry(self, target: Target, deadline: Deadline) -> ScriptOutput:
        name = str(target)
        attempt = 1
        while True:
            step = Step()
            try:
                return self._run_script(target, self.script, deadline, step)
            except CollectionError:
                raise
            except Exception as error:  # noqa: BLE001 - every library error becomes a host result
                if deadline.expired:
                    raise deadline.timeout_error(name, step.phase) from error
                translated = classify(error, name, step.phase, plain_basic=self.options.sends_plain_basic)
                if attempt > 1 or not is_transient(error) or deadline.remaining() < 2 * RETRY_BACKOFF_SECONDS:
                    raise translated from error

            logger.info("%s: retrying once after a transient failure: %s", name, translated.message)
            time.sleep(RETRY_BACKOFF_SECONDS)
            attempt += 1

    def _run_script(self, target: Target, script: CollectionScript, deadline: Deadline, step: Step) -> ScriptOutput:
        raise NotImplementedError

    def _parse(self, name: str, output: ScriptOutput) -> EndpointState:
        return parse_script_output(name, output)


def parse_script_output(name: str, output: ScriptOutput) -> EndpointState:
    """Read the endpoint document from the script output; raises CollectionError in the parse step."""
    from makaudit.parsing.endpoint import parse_endpoint_document

    text = output.stdout.strip().lstrip("\ufeff")
    if not text:
        problem = output.stderr.strip() or "the script printed nothing"
        status = f" (exit code {output.exit_code})" if output.exit_code else ""
        raise CollectionError(name, PHASE_RUN, HostStatus.ERROR, f"{problem}{status}")

    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        # Mask before cutting the excerpt, so that no part of a full product key is kept.
        text = mask_full_keys(text)
        excerpt = text[:_OUTPUT_EXCERPT] + ("..." if len(text) > _OUTPUT_EXCERPT else "")
        message = f"the script output is not JSON ({error.msg} at character {error.pos}): {excerpt!r}"
        if output.stderr.strip():
            message += f"; stderr: {output.stderr.strip()}"
        raise CollectionError(name, PHASE_PARSE, HostStatus.ERROR, message) from None

    if not isinstance(data, dict):
        raise CollectionError(name, PHASE_PARSE, HostStatus.ERROR, f"the script output is JSON but not an object: {type(data).__name__}")

    try:
        state = parse_endpoint_document(data, name)
    except ParseError as error:
        raise CollectionError(name, PHASE_PARSE, HostStatus.ERROR, str(error)) from None
    return state
