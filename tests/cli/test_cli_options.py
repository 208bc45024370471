"""Option resolution: command line over MAKAUDIT_* variables over the configuration file."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from makaudit.commands.options import add_output_options, add_remote_options, env_name, resolve
from makaudit.errors import UsageError
from makaudit.model import Severity


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add_output_options(parser)
    add_remote_options(parser)
    return parser


def test_env_name_follows_contract():
    assert env_name("--log-level") == "MAKAUDIT_LOG_LEVEL"
    assert env_name("--db") == "MAKAUDIT_DB"


def test_command_line_wins_over_environment():
    args = _parser().parse_args(["--workers", "4"])
    resolve(args, {}, environ={"MAKAUDIT_WORKERS": "32"})
    assert args.workers == 4


def test_environment_fills_unset_option():
    args = _parser().parse_args([])
    resolve(args, {}, environ={"MAKAUDIT_WORKERS": "32", "MAKAUDIT_DB": "/tmp/x.sqlite", "MAKAUDIT_JSON": "yes"})
    assert args.workers == 32
    assert args.db == Path("/tmp/x.sqlite")
    assert args.json is True


def test_environment_wins_over_configuration():
    args = _parser().parse_args([])
    resolve(args, {}, environ={"MAKAUDIT_TRANSPORT": "psrp"})
    resolve(args, {("scan", "transport"): "winrm", ("scan", "workers"): 8}, environ={})
    assert args.transport == "psrp"
    assert args.workers == 8


def test_configuration_values_are_converted():
    args = _parser().parse_args([])
    resolve(args, {("thresholds", "fail_on"): "High", ("scan", "https"): True, ("scan", "port"): 5986}, environ={})
    assert args.fail_on is Severity.HIGH
    assert args.https is True
    assert args.port == 5986


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("MAKAUDIT_WORKERS", "many", "MAKAUDIT_WORKERS"),
        ("MAKAUDIT_WORKERS", "0", "must be 1 or more"),
        ("MAKAUDIT_FAIL_ON", "urgent", "not a severity"),
        ("MAKAUDIT_PORT", "70000", "not a TCP port"),
        ("MAKAUDIT_HTTPS", "maybe", "not a boolean"),
        ("MAKAUDIT_AUTH", "digest", "not an authentication method"),
    ],
)
def test_invalid_environment_value_names_variable(variable, value, expected):
    args = _parser().parse_args([])
    with pytest.raises(UsageError) as caught:
        resolve(args, {}, environ={variable: value})
    assert expected in str(caught.value)
    assert variable in str(caught.value)


def test_invalid_configuration_value_names_key():
    args = _parser().parse_args([])
    with pytest.raises(UsageError) as caught:
        resolve(args, {("scan", "https"): "yes please"}, environ={})
    assert "[scan] https" in str(caught.value)


def test_relative_configuration_paths_follow_config_folder(tmp_path):
    args = _parser().parse_args([])
    resolve(args, {("history", "db"): "data/h.sqlite", ("reports", "xlsx"): "/abs/r.xlsx"}, environ={}, config_dir=tmp_path)
    assert args.db == tmp_path / "data" / "h.sqlite"
    assert args.xlsx == Path("/abs/r.xlsx")
