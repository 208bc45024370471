"""One PowerShell remoting shell of an emulated host: a psrpcore runspace pool and its pipelines.

The WinRM shell of the PowerShell plugin carries PSRP fragments. The client
sends them in the Create, Command and Send requests. It fetches the server's
fragments with Receive requests, one target at a time: the pool, or one
pipeline by its CommandId. psrpcore queues the fragments of all targets in one
buffer, so this module sorts them into one queue per target.

Every method takes the session's own lock and never waits while holding it: a
Receive whose pipeline is still in its simulated run time raises
``WSManPending`` and the HTTP layer calls again later.
"""

from __future__ import annotations

import logging
import struct
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections import deque
from dataclasses import dataclass, field

from psrpcore import (
    CreatePipelineEvent,
    GetAvailableRunspacesEvent,
    GetCommandMetadataEvent,
    PSRPCoreError,
    PSRPEvent,
    PSRPPayload,
    ResetRunspaceStateEvent,
    ServerPipeline,
    ServerRunspacePool,
    SetMaxRunspacesEvent,
    SetMinRunspacesEvent,
    StreamType,
)
from psrpcore.types import (
    ErrorCategory,
    ErrorCategoryInfo,
    ErrorRecord,
    NETException,
    PSInvocationState,
    PSVersion,
)

from makaudit.testing.machine import MachineDescription
from makaudit.testing.server.base import WSManFault, WSManPending
from makaudit.testing.server.psrp_pipeline import (
    PipelineResult,
    ScriptRunner,
    fail_pipeline,
    plan_statements,
    run_statements,
    write_result,
)

logger = logging.getLogger(__name__)

SHELL_NOT_FOUND_CODE = 2150858843
INVALID_PARAMETER_CODE = 87

_TERMINAL_STATES = (PSInvocationState.Completed, PSInvocationState.Failed, PSInvocationState.Stopped)

# $PSVersionTable values of Windows PowerShell 5.1 on Windows 10 22H2.
_PS_VERSION_TABLE = {
    "PSVersion": PSVersion("5.1.19041.4648"),
    "PSEdition": "Desktop",
    "BuildVersion": PSVersion("10.0.19041.4648"),
    "CLRVersion": PSVersion("4.0.30319.42000"),
    "WSManStackVersion": PSVersion("3.0"),
}


@dataclass
class PendingRun:
    """A pipeline whose result is computed but held back until its simulated run time has passed."""

    result: PipelineResult
    ready_at: float
    """``time.monotonic()`` value at which the result is released to the client."""


@dataclass(frozen=True)
class ReceiveResult:
    """The fragments one Receive returns and whether the command has finished."""

    payloads: list[bytes] = field(default_factory=list)
    done: bool = False


class PowerShellSession:
    """The server side of one PSRP runspace pool, addressed by its ShellId."""

    def __init__(
        self,
        shell_id: str,
        owner: str,
        machine: MachineDescription,
        run_script: ScriptRunner,
        idle_timeout_seconds: float,
    ) -> None:
        self.shell_id = shell_id
        self.owner = owner
        self.machine = machine
        self.idle_timeout_seconds = idle_timeout_seconds
        self.last_used = time.monotonic()

        self._run_script = run_script
        self._pool = ServerRunspacePool(application_private_data={"PSVersionTable": dict(_PS_VERSION_TABLE)})
        self._lock = threading.Lock()
        self._outbound: dict[uuid.UUID | None, deque[bytes]] = {}
        self._pending: dict[uuid.UUID, PendingRun] = {}
        self._closed = False

    def is_idle(self, now: float) -> bool:
        """Return True when no request used the shell for longer than its idle timeout."""
        return now - self.last_used > self.idle_timeout_seconds

    def open(self, creation_data: bytes) -> None:
        """Process the opening fragments from the Create request (SessionCapability, InitRunspacePool)."""
        with self._lock:
            self._feed(creation_data)

    def create_pipeline(self, command_id: uuid.UUID, data: bytes) -> None:
        """Create the pipeline of a Command request and process its first CreatePipeline fragments."""
        with self._lock:
            self._touch()
            if command_id in self._pool.pipeline_table:
                raise WSManFault(
                    "w:InvalidParameter",
                    INVALID_PARAMETER_CODE,
                    f"The CommandId {_guid(command_id)} is already in use in shell {self.shell_id}. "
                    "Send the Command request with a new CommandId.",
                )

            ServerPipeline(self._pool, command_id)
            self._feed(data)

    def send(self, command_id: uuid.UUID | None, data: bytes) -> None:
        """Process fragments from a Send request (more CreatePipeline fragments, input, host responses)."""
        with self._lock:
            self._touch()
            if command_id is not None:
                self._require_pipeline(command_id)
            self._feed(data)

    def receive(self, command_id: uuid.UUID | None, max_bytes: int, timeout_seconds: float) -> ReceiveResult:
        """Return the queued fragments for the pool (``command_id`` None) or one pipeline.

        When nothing is ready, raises ``WSManPending`` with the time until the
        pipeline's simulated run ends, or ``timeout_seconds`` when nothing is
        due. The HTTP layer waits without blocking other hosts and calls again.
        It sends the ``w:TimedOut`` fault when the OperationTimeout passes first.
        """
        with self._lock:
            self._touch()
            self._require_open()
            if command_id is not None:
                self._require_pipeline(command_id)

            self._release_due_results()
            self._sort_outbound(max_bytes)

            payloads = self._take(command_id, max_bytes)
            done = command_id is not None and self._is_finished(command_id)
            if payloads or done:
                return ReceiveResult(payloads, done)

            ready_in = self._next_ready_at(command_id) - time.monotonic()
            raise WSManPending(min(ready_in, timeout_seconds))

    def stop_pipeline(self, command_id: uuid.UUID) -> None:
        """Stop a running pipeline (the PowerShell ctrl_c signal) and queue its Stopped state for the client."""
        with self._lock:
            self._touch()
            pipeline = self._require_pipeline(command_id)
            self._pending.pop(command_id, None)
            if pipeline.state == PSInvocationState.Running:
                pipeline.stop()

    def terminate_pipeline(self, command_id: uuid.UUID) -> None:
        """Remove a pipeline and its queued fragments (the terminate signal)."""
        with self._lock:
            self._touch()
            pipeline = self._pool.pipeline_table.get(command_id)
            if pipeline is None:
                return

            self._pending.pop(command_id, None)
            if pipeline.state == PSInvocationState.Running:
                pipeline.stop()
            pipeline.close()
            self._outbound.pop(command_id, None)

    def close(self) -> None:
        """Close the pool. A Receive retried afterwards gets the shell-not-found fault."""
        with self._lock:
            self._closed = True
            self._pending.clear()
            self._outbound.clear()

    def _touch(self) -> None:
        self.last_used = time.monotonic()

    def _require_open(self) -> None:
        if self._closed:
            raise WSManFault(
                "w:InvalidSelectors",
                SHELL_NOT_FOUND_CODE,
                f"The shell {self.shell_id} was deleted while the request waited. Create a new shell.",
            )

    def _require_pipeline(self, command_id: uuid.UUID) -> ServerPipeline:
        pipeline = self._pool.pipeline_table.get(command_id)
        if pipeline is None:
            raise WSManFault(
                "w:InvalidParameter",
                INVALID_PARAMETER_CODE,
                f"No command with CommandId {_guid(command_id)} exists in shell {self.shell_id}. "
                "Send a Command request first, or use the CommandId its response returned.",
            )
        return pipeline

    def _feed(self, data: bytes) -> None:
        try:
            self._pool.receive_data(PSRPPayload(data, StreamType.default, None))
            while True:
                event = self._pool.next_event()
                if event is None:
                    break
                self._handle_event(event)
        except (PSRPCoreError, ValueError, KeyError, IndexError, struct.error, ET.ParseError) as error:
            logger.warning("Rejected malformed PSRP data in shell %s on %s: %s", self.shell_id, self.machine.target, error)
            raise WSManFault(
                "w:InvalidParameter",
                INVALID_PARAMETER_CODE,
                f"The PSRP data sent to shell {self.shell_id} is invalid: {error}. "
                "Send fragments as the PowerShell Remoting Protocol defines them.",
            ) from error

    def _handle_event(self, event: PSRPEvent) -> None:
        if isinstance(event, CreatePipelineEvent):
            self._start_pipeline(event)
        elif isinstance(event, (SetMaxRunspacesEvent, SetMinRunspacesEvent, ResetRunspaceStateEvent)):
            self._pool.runspace_availability_response(event.ci, True)
        elif isinstance(event, GetAvailableRunspacesEvent):
            self._pool.runspace_availability_response(event.ci, self._pool.max_runspaces)
        elif isinstance(event, GetCommandMetadataEvent):
            self._reject_command_metadata(event)

    def _start_pipeline(self, event: CreatePipelineEvent) -> None:
        pipeline_id = event.pipeline_id
        pipeline = self._pool.pipeline_table[pipeline_id]
        pipeline.start()

        plans = plan_statements(event.pipeline)
        result = run_statements(self.machine, plans, self._run_script)
        logger.debug(
            "Pipeline %s in shell %s on %s: %d output objects, %d errors, released after %.3f s",
            pipeline_id,
            self.shell_id,
            self.machine.target,
            len(result.output),
            len(result.errors),
            result.delay_seconds,
        )
        self._pending[pipeline_id] = PendingRun(result, time.monotonic() + result.delay_seconds)

    def _reject_command_metadata(self, event: GetCommandMetadataEvent) -> None:
        pipeline = self._pool.pipeline_table[event.pipeline_id]
        pipeline.start()
        exception = NETException(Message="The test fleet does not emulate GetCommandMetadata.")
        error = ErrorRecord(
            Exception=exception,
            CategoryInfo=ErrorCategoryInfo(Category=ErrorCategory.NotImplemented, Reason="NotSupportedException"),
            FullyQualifiedErrorId="GetCommandMetadataNotSupported",
        )
        fail_pipeline(pipeline, error)

    def _release_due_results(self) -> None:
        now = time.monotonic()
        for pipeline_id, pending in list(self._pending.items()):
            if pending.ready_at > now:
                continue

            del self._pending[pipeline_id]
            pipeline = self._pool.pipeline_table.get(pipeline_id)
            if pipeline is not None and pipeline.state == PSInvocationState.Running:
                write_result(pipeline, pending.result)

    def _next_ready_at(self, command_id: uuid.UUID | None) -> float:
        if command_id is None:
            return float("inf")

        pending = self._pending.get(command_id)
        return pending.ready_at if pending is not None else float("inf")

    def _sort_outbound(self, max_bytes: int) -> None:
        while True:
            payload = self._pool.data_to_send(max_bytes)
            if payload is None:
                return
            self._outbound.setdefault(payload.pipeline_id, deque()).append(payload.data)

    def _take(self, command_id: uuid.UUID | None, max_bytes: int) -> list[bytes]:
        queue = self._outbound.get(command_id)
        if not queue:
            return []

        payloads = [queue.popleft()]
        size = len(payloads[0])
        while queue and size + len(queue[0]) <= max_bytes:
            size += len(queue[0])
            payloads.append(queue.popleft())

        return payloads

    def _is_finished(self, command_id: uuid.UUID) -> bool:
        pipeline = self._pool.pipeline_table.get(command_id)
        if pipeline is None or pipeline.state not in _TERMINAL_STATES:
            return False

        return not self._outbound.get(command_id) and command_id not in self._pending


def _guid(value: uuid.UUID) -> str:
    """Return a GUID in the upper case that WinRM uses for ShellId and CommandId."""
    return str(value).upper()
