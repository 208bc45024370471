"""What an emulated PSRP pipeline runs and how its result goes back to the client.

A client's CreatePipeline message carries PowerShell commands, not a script
file. This module turns those commands into the script text the emulated
endpoint runs and applies the formatting cmdlets that follow it (``Out-String``,
``Out-Null``). It then writes the endpoint's outcome into a psrpcore
``ServerPipeline``: output objects, error records, a progress record and the
final pipeline state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from psrpcore import PowerShell, ServerPipeline
from psrpcore.types import (
    ErrorCategory,
    ErrorCategoryInfo,
    ErrorRecord,
    NETException,
    ProgressRecordType,
    PSInvocationState,
)

from makaudit.testing.endpoint import ErrorInfo, PowerShellOutcome
from makaudit.testing.machine import MachineDescription

logger = logging.getLogger(__name__)

PROGRESS_ACTIVITY = "Preparing modules for first use."
"""The progress record Windows PowerShell 5.1 writes when a session loads its first module."""

_SMA_NAMESPACE = "System.Management.Automation"
_RUNTIME_EXCEPTION = "RuntimeException"
_RUNTIME_EXCEPTION_HRESULT = -2146233087


ScriptRunner = Callable[[MachineDescription, str], PowerShellOutcome]
"""Runs a script on an emulated host, as ``makaudit.testing.endpoint.run_powershell`` does."""


@dataclass(frozen=True)
class StatementPlan:
    """One PowerShell statement: the script it runs and what happens to its output."""

    script: str
    output_format: str
    """``objects`` (as produced), ``lines`` (Out-String -Stream), ``text`` (Out-String) or ``none`` (Out-Null)."""


@dataclass(frozen=True)
class PipelineResult:
    """The combined outcome of all statements of one pipeline, ready to send."""

    output: tuple[str, ...]
    errors: tuple[ErrorInfo, ...]
    progress: bool
    delay_seconds: float


def plan_statements(pipeline: PowerShell) -> list[StatementPlan]:
    """Split a CreatePipeline's commands into statements and find each statement's script.

    ``Client.execute_ps`` sends ``Invoke-Expression -Command <script> | Out-String
    -Stream``. ``PowerShell.add_script`` sends the script as a command with
    ``is_script`` set. A cmdlet such as ``Get-Date`` is rendered back to its
    command line.
    """
    statements: list[list[Any]] = [[]]
    for command in pipeline.commands:
        statements[-1].append(command)
        if command.end_of_statement:
            statements.append([])

    # NOTE: every statement goes to the endpoint as a script, including the
    # "New-Item -Path env: ... | Out-Null" statements that execute_ps sends for its
    # environment argument. The emulated endpoint returns an error record for those.
    plans = []
    for commands in statements:
        if commands:
            plans.append(_plan_statement(commands))

    return plans


def run_statements(machine: MachineDescription, plans: Sequence[StatementPlan], run_script: ScriptRunner) -> PipelineResult:
    """Run every statement on the emulated endpoint and combine their outcomes in order."""
    output: list[str] = []
    errors: list[ErrorInfo] = []
    progress = False
    delay_seconds = 0.0

    for plan in plans:
        outcome = run_script(machine, plan.script)

        output.extend(_format_output(outcome.output, plan.output_format))
        errors.extend(outcome.errors)
        progress = progress or outcome.progress
        delay_seconds += max(0.0, outcome.delay_seconds)

    return PipelineResult(tuple(output), tuple(errors), progress, delay_seconds)


def write_result(pipeline: ServerPipeline, result: PipelineResult) -> None:
    """Queue the result's records on a running pipeline and complete it.

    Errors go to the error stream as non-terminating error records, so the
    pipeline still completes, as on Windows when a command is not found. A
    runspace has no process exit code, so the endpoint's exit code is not sent.
    """
    if result.progress:
        pipeline.write_progress(
            activity=PROGRESS_ACTIVITY,
            activity_id=0,
            status_description=" ",
            record_type=ProgressRecordType.Completed,
        )

    for value in result.output:
        pipeline.write_output(value)

    for error in result.errors:
        record = build_error_record(error)
        pipeline.write_error(
            record.Exception,
            category_info=record.CategoryInfo,
            target_object=record.TargetObject,
            fully_qualified_error_id=record.FullyQualifiedErrorId,
        )

    pipeline.complete()


def fail_pipeline(pipeline: ServerPipeline, error: ErrorRecord) -> None:
    """Move a pipeline to the Failed state and queue the state message with its error.

    psrpcore 0.3.1 has no public call for a failed pipeline, so this uses the
    state change that ``ServerPipeline.complete`` and ``stop`` use.
    """
    pipeline._change_state(PSInvocationState.Failed, error=error)


def build_error_record(error: ErrorInfo) -> ErrorRecord:
    """Build a PSRP ErrorRecord from an endpoint error.

    The exception type comes from the error id when it names one
    (``CommandNotFoundException``), else it is ``RuntimeException``.
    """
    reason = _exception_name(error.fully_qualified_error_id)
    exception = NETException(Message=error.message, HResult=_RUNTIME_EXCEPTION_HRESULT)
    type_names = [f"{_SMA_NAMESPACE}.{reason}"]
    if reason != _RUNTIME_EXCEPTION:
        type_names.append(f"{_SMA_NAMESPACE}.{_RUNTIME_EXCEPTION}")
    type_names.extend(["System.SystemException", *exception.PSTypeNames])
    exception.PSObject.type_names = type_names

    category_info = ErrorCategoryInfo(
        Category=_parse_category(error.category),
        Reason=reason,
        TargetName=error.target_name or None,
        TargetType="String" if error.target_name else None,
    )
    return ErrorRecord(
        Exception=exception,
        CategoryInfo=category_info,
        TargetObject=error.target_name or None,
        FullyQualifiedErrorId=error.fully_qualified_error_id,
    )


def _exception_name(error_id: str) -> str:
    first_part = error_id.split(",", 1)[0].strip()
    short_name = first_part.rsplit(".", 1)[-1]
    if short_name.endswith("Exception") and short_name.isidentifier():
        return short_name

    return _RUNTIME_EXCEPTION


def _parse_category(category: str) -> ErrorCategory:
    try:
        return ErrorCategory[category]
    except KeyError:
        logger.warning("Unknown PowerShell error category %r: sending NotSpecified instead", category)
        return ErrorCategory.NotSpecified


def _plan_statement(commands: Sequence[Any]) -> StatementPlan:
    first, formatters = commands[0], commands[1:]
    script = _script_of(first)

    output_format = "objects"
    for command in formatters:
        name = command.command_text.strip().lower()
        if name == "out-string":
            output_format = "lines" if _has_parameter(command, "stream") else "text"
        elif name == "out-null":
            output_format = "none"
        else:
            # NOTE: only Out-String and Out-Null are emulated after the first command.
            # Any other piped command is appended to the script text for the endpoint.
            script = f"{script} | {_render_command(command)}"

    return StatementPlan(script=script, output_format=output_format)


def _script_of(command: Any) -> str:
    if command.is_script:
        return str(command.command_text)

    if command.command_text.strip().lower() in ("invoke-expression", "iex"):
        for name, value in command.parameters:
            if name is None or name.lower() == "command":
                return str(value)

    return _render_command(command)


def _has_parameter(command: Any, parameter: str) -> bool:
    return any(name is not None and name.lower() == parameter for name, _ in command.parameters)


def _render_command(command: Any) -> str:
    parts = [str(command.command_text)]
    for name, value in command.parameters:
        if name is not None and value is True:
            parts.append(f"-{name}")
            continue

        if name is not None:
            parts.append(f"-{name}")
        parts.append(_quote(value))

    return " ".join(parts)


def _quote(value: Any) -> str:
    text = str(value).replace("'", "''")
    return f"'{text}'"


def _format_output(values: Sequence[str], output_format: str) -> list[str]:
    if output_format == "none":
        return []

    if output_format == "lines":
        lines: list[str] = []
        for value in values:
            lines.extend(str(value).splitlines() or [""])
        return lines

    if output_format == "text":
        if not values:
            return []
        return ["\r\n".join(str(value) for value in values) + "\r\n"]

    return [str(value) for value in values]
