"""How an emulated PSRP pipeline finds its script and shapes its output and error records."""

from __future__ import annotations

from psrpcore import Command, PowerShell
from psrpcore.types import ErrorCategory

from makaudit.testing.endpoint import ErrorInfo, PowerShellOutcome
from makaudit.testing.machine import MachineDescription
from makaudit.testing.server.psrp_pipeline import (
    StatementPlan,
    build_error_record,
    plan_statements,
    run_statements,
)

MACHINE = MachineDescription(name="PC-0001", document={}, slmgr_text="")


def pipeline_of(*statements: list[Command]) -> PowerShell:
    pipeline = PowerShell()
    for commands in statements:
        for command in commands:
            pipeline.commands.append(command)
        pipeline.commands[-1].end_of_statement = True
    return pipeline


def cmdlet(name: str, *parameters: tuple[str | None, object]) -> Command:
    command = Command(name)
    for parameter_name, value in parameters:
        command.add_parameter(parameter_name, value)
    return command


class RecordingRunner:
    """A script runner that returns fixed outcomes and records the scripts it was given."""

    def __init__(self, *outcomes: PowerShellOutcome) -> None:
        self.outcomes = list(outcomes)
        self.scripts: list[str] = []

    def __call__(self, machine: MachineDescription, script: str) -> PowerShellOutcome:
        self.scripts.append(script)
        return self.outcomes.pop(0)


def test_execute_ps_shape_finds_script() -> None:
    pipeline = pipeline_of(
        [cmdlet("Invoke-Expression", ("Command", "Get-Thing\nGet-Other")), cmdlet("Out-String", ("Stream", True))]
    )

    assert plan_statements(pipeline) == [StatementPlan(script="Get-Thing\nGet-Other", output_format="lines")]


def test_add_script_shape_keeps_objects() -> None:
    pipeline = pipeline_of([Command("$x = 1\n$x", is_script=True)])

    assert plan_statements(pipeline) == [StatementPlan(script="$x = 1\n$x", output_format="objects")]


def test_invoke_expression_positional_argument() -> None:
    pipeline = pipeline_of([cmdlet("iex", (None, "Get-Date"))])

    assert plan_statements(pipeline)[0].script == "Get-Date"


def test_cmdlet_rendered_with_parameters() -> None:
    pipeline = pipeline_of([cmdlet("Get-Item", ("Path", "C:\\It's here"), ("Force", True), (None, 3))])

    assert plan_statements(pipeline)[0].script == "Get-Item -Path 'C:\\It''s here' -Force '3'"


def test_out_null_and_out_string_formats() -> None:
    pipeline = pipeline_of(
        [cmdlet("New-Item", ("Path", "env:"), ("Name", "A")), cmdlet("Out-Null")],
        [Command("Get-Lines", is_script=True), cmdlet("Out-String")],
    )

    plans = plan_statements(pipeline)

    assert [plan.output_format for plan in plans] == ["none", "text"]
    assert plans[0].script == "New-Item -Path 'env:' -Name 'A'"


def test_other_pipe_commands_stay_in_script() -> None:
    pipeline = pipeline_of([Command("Get-Process", is_script=True), cmdlet("Select-Object", ("First", 1))])

    assert plan_statements(pipeline)[0].script == "Get-Process | Select-Object -First '1'"


def test_run_statements_formats_output() -> None:
    runner = RecordingRunner(
        PowerShellOutcome(output=["first\r\nsecond", ""]),
        PowerShellOutcome(output=["dropped"]),
        PowerShellOutcome(output=["a", "b"]),
    )
    plans = [
        StatementPlan("one", "lines"),
        StatementPlan("two", "none"),
        StatementPlan("three", "text"),
    ]

    result = run_statements(MACHINE, plans, runner)

    assert runner.scripts == ["one", "two", "three"]
    assert result.output == ("first", "second", "", "a\r\nb\r\n")


def test_run_statements_combines_errors_and_delay() -> None:
    error = ErrorInfo("boom", "InvalidOperation", "Boom")
    runner = RecordingRunner(
        PowerShellOutcome(errors=[error], progress=True, delay_seconds=0.5, exit_code=1),
        PowerShellOutcome(delay_seconds=0.25),
    )

    result = run_statements(MACHINE, [StatementPlan("one", "objects"), StatementPlan("two", "objects")], runner)

    assert result.errors == (error,)
    assert result.progress is True
    assert result.delay_seconds == 0.75


def test_error_record_from_command_not_found() -> None:
    error = ErrorInfo("The term 'Foo' is not recognized.", "ObjectNotFound", "CommandNotFoundException", "Foo")

    record = build_error_record(error)

    assert str(record) == "The term 'Foo' is not recognized."
    assert record.CategoryInfo.Category == ErrorCategory.ObjectNotFound
    assert record.CategoryInfo.Reason == "CommandNotFoundException"
    assert record.CategoryInfo.TargetName == "Foo"
    assert record.TargetObject == "Foo"
    assert record.Exception.PSTypeNames[0] == "System.Management.Automation.CommandNotFoundException"


def test_error_record_generic_id_and_category() -> None:
    error = ErrorInfo("Access is denied.", "NoSuchCategory", "NotSpecified,Microsoft.PowerShell.Commands.GetCimInstance")

    record = build_error_record(error)

    assert record.CategoryInfo.Category == ErrorCategory.NotSpecified
    assert record.CategoryInfo.Reason == "RuntimeException"
    assert record.TargetObject is None
    assert record.Exception.PSTypeNames[0] == "System.Management.Automation.RuntimeException"
