"""Command-line options shared by several commands, and how each option's value is resolved.

Every option can come from three places; the first one set wins:
the command line, an environment variable named ``MAKAUDIT_<OPTION>`` (capitals,
``_`` for ``-``), and the TOML configuration file (``--config``). Options are
declared with ``default=None`` so that "not given on the command line" is visible.
"""

from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from makaudit.errors import UsageError
from makaudit.model import Severity

ENV_PREFIX = "MAKAUDIT_"
LOG_LEVELS = ("debug", "info", "warning", "error")
SEVERITIES = tuple(severity.value for severity in Severity)


@dataclass(frozen=True)
class OptionSpec:
    """How to read one option from the environment and the configuration file."""

    dest: str
    flag: str
    convert: Callable[[str], Any]
    is_flag: bool = False
    config_key: tuple[str, str] | None = None
    """(section, key) in the TOML configuration, when the option may be set there."""


SPECS_ATTRIBUTE = "_makaudit_option_specs"


def _specs_of(parser: argparse.ArgumentParser) -> dict[str, OptionSpec]:
    """Return the option specs of one (sub)command, kept in its parse results so that commands never share them."""
    specs = getattr(parser, SPECS_ATTRIBUTE, None)
    if specs is None:
        specs = {}
        setattr(parser, SPECS_ATTRIBUTE, specs)
        parser.set_defaults(**{SPECS_ATTRIBUTE: specs})
    return specs


def env_name(flag: str) -> str:
    return ENV_PREFIX + flag.lstrip("-").upper().replace("-", "_")


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"{text!r} is not a boolean; use 1/0, true/false or yes/no")


def _parse_severity(text: str) -> Severity:
    try:
        return Severity(text.strip().lower())
    except ValueError:
        raise ValueError(f"{text!r} is not a severity; use one of {', '.join(SEVERITIES)}") from None


def _parse_log_level(text: str) -> str:
    lowered = text.strip().lower()
    if lowered not in LOG_LEVELS:
        raise ValueError(f"{text!r} is not a log level; use one of {', '.join(LOG_LEVELS)}")
    return lowered


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise ValueError(f"{value} must be 1 or more")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number of seconds")
    if value <= 0:
        raise ValueError(f"{value} must be greater than 0")
    return value


MAX_WORKERS = 1024


def worker_count(text: str) -> int:
    value = positive_int(text)
    if value > MAX_WORKERS:
        raise ValueError(f"{value} workers is more than the maximum of {MAX_WORKERS}")
    return value


def port_number(text: str) -> int:
    value = positive_int(text)
    if value > 65535:
        raise ValueError(f"{value} is not a TCP port; use 1 to 65535")
    return value


def _argparse_type(convert: Callable[[str], Any]) -> Callable[[str], Any]:
    """Wrap a converter so that argparse reports its ValueError message as a usage error."""

    def wrapped(text: str) -> Any:
        try:
            return convert(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    wrapped.__name__ = getattr(convert, "__name__", "value")
    return wrapped


def add_option(
    parser: argparse.ArgumentParser,
    flag: str,
    *,
    help: str,
    convert: Callable[[str], Any] = str,
    is_flag: bool = False,
    config_key: tuple[str, str] | None = None,
    metavar: str | None = None,
    choices: tuple[str, ...] | None = None,
    dest: str | None = None,
    group: argparse._ActionsContainer | None = None,
) -> None:
    """Add an option whose value may also come from the environment or the configuration file.

    ``group`` adds the option to an argument group (a mutually exclusive one, say) of ``parser``.
    """
    dest = dest or flag.lstrip("-").replace("-", "_")
    container = group if group is not None else parser
    help_text = f"{help} [env: {env_name(flag)}]"
    if is_flag:
        container.add_argument(flag, dest=dest, action="store_const", const=True, default=None, help=help_text)
    else:
        container.add_argument(
            flag,
            dest=dest,
            type=_argparse_type(convert),
            default=None,
            metavar=metavar,
            choices=choices,
            help=help_text,
        )
    _specs_of(parser)[dest] = OptionSpec(dest, flag, _parse_bool if is_flag else convert, is_flag, config_key)


def add_output_options(parser: argparse.ArgumentParser, *, reports: bool = True, inventory: bool = True, fail_on: bool = True) -> None:
    """Add the options shared by scan, import, host, report and history."""
    add_option(parser, "--config", help="TOML configuration file with thresholds, KMS hosts and scan settings", convert=Path, metavar="FILE")
    if inventory:
        add_option(parser, "--inventory", help="MAK inventory CSV (see inventory.example.csv)", convert=Path, metavar="FILE", config_key=("inventory", "path"))
    add_option(parser, "--db", help="history database (SQLite file; default in the user's data folder)", convert=Path, metavar="PATH", config_key=("history", "db"))
    if reports:
        add_option(parser, "--xlsx", help="write the Excel report to this path (a {date} placeholder is filled in)", convert=Path, metavar="PATH", config_key=("reports", "xlsx"))
        add_option(parser, "--html", help="write the HTML report to this path (a {date} placeholder is filled in)", convert=Path, metavar="PATH", config_key=("reports", "html"))
    add_option(parser, "--json", help="print the result document to standard output, and nothing else there", is_flag=True)
    if fail_on:
        add_option(parser, "--fail-on", help="exit 1 when any finding is at or above this severity", convert=_parse_severity, metavar="SEVERITY", config_key=("thresholds", "fail_on"))
    add_option(parser, "--log-level", help="logging verbosity: debug, info, warning or error (default warning)", convert=_parse_log_level, metavar="LEVEL", config_key=("logging", "level"))
    add_option(parser, "--log-file", help="also write logs to this file (rotated at 10 MB, 5 files kept)", convert=Path, metavar="PATH", config_key=("logging", "file"))


def resolve(
    args: argparse.Namespace,
    config_values: Mapping[tuple[str, str], Any],
    environ: Mapping[str, str] | None = None,
    config_dir: Path | None = None,
) -> None:
    """Fill every option that the command line left unset from the environment, then the configuration.

    Relative paths in the configuration file are taken relative to the file's folder (``config_dir``),
    so that a scheduled job finds them whatever its working directory.
    Raises UsageError naming the environment variable or configuration key whose value is invalid.
    """
    environ = os.environ if environ is None else environ

    for dest, spec in getattr(args, SPECS_ATTRIBUTE, {}).items():
        if not hasattr(args, dest) or getattr(args, dest) is not None:
            continue

        variable = env_name(spec.flag)
        if variable in environ:
            setattr(args, dest, _convert_env(spec, variable, environ[variable]))
            continue

        if spec.config_key is not None and spec.config_key in config_values:
            value = _convert_config(spec, config_values[spec.config_key])
            if isinstance(value, Path) and config_dir is not None and not value.is_absolute():
                value = config_dir / value
            setattr(args, dest, value)


def _convert_env(spec: OptionSpec, variable: str, text: str) -> Any:
    try:
        return spec.convert(text)
    except ValueError as error:
        raise UsageError(f"invalid value in environment variable {variable}: {error}. Fix or unset {variable}.") from None


def _convert_config(spec: OptionSpec, value: Any) -> Any:
    section, key = spec.config_key  # type: ignore[misc]
    if spec.is_flag:
        if isinstance(value, bool):
            return value
        raise UsageError(f"invalid value for [{section}] {key} in the configuration: {value!r} is not true or false")
    if isinstance(value, (int, float)) and spec.convert not in (str, Path):
        value = str(value)
    if not isinstance(value, str):
        raise UsageError(f"invalid value for [{section}] {key} in the configuration: {value!r}; expected text")
    try:
        return spec.convert(value)
    except ValueError as error:
        raise UsageError(f"invalid value for [{section}] {key} in the configuration: {error}") from None


TRANSPORTS = ("winrm", "psrp")
AUTH_METHODS = ("ntlm", "kerberos", "negotiate", "basic", "credssp")


def _parse_transport(text: str) -> str:
    lowered = text.strip().lower()
    if lowered not in TRANSPORTS:
        raise ValueError(f"{text!r} is not a transport; use winrm or psrp")
    return lowered


def _parse_auth(text: str) -> str:
    lowered = text.strip().lower()
    if lowered not in AUTH_METHODS:
        raise ValueError(f"{text!r} is not an authentication method; use one of {', '.join(AUTH_METHODS)}")
    return lowered


def add_remote_options(parser: argparse.ArgumentParser, *, workers: bool = True) -> None:
    """Add the options of commands that query endpoints (scan, host); ``workers`` only where several hosts are queried."""
    add_option(parser, "--transport", help="winrm (pywinrm, cmd shell) or psrp (pypsrp, PowerShell Remoting); default winrm", convert=_parse_transport, metavar="NAME", config_key=("scan", "transport"))
    add_option(parser, "--auth", help="authentication: ntlm (default), kerberos, negotiate, basic or credssp", convert=_parse_auth, metavar="METHOD", config_key=("scan", "auth"))
    add_option(parser, "--https", help="connect over HTTPS (port 5986 unless --port is given)", is_flag=True, config_key=("scan", "https"))
    add_option(parser, "--port", help="WinRM port (default 5985, or 5986 with --https)", convert=port_number, metavar="N", config_key=("scan", "port"))
    add_option(parser, "--ca-bundle", help="PEM file of CA certificates to validate the endpoints' HTTPS certificates", convert=Path, metavar="FILE", config_key=("scan", "ca_bundle"))
    add_option(parser, "--no-verify-tls", help="do not validate HTTPS certificates (insecure; a warning is logged)", is_flag=True, config_key=("scan", "no_verify_tls"))
    add_option(parser, "--allow-unencrypted", help="allow Basic authentication over plain HTTP, which sends the password readable on the network", is_flag=True, config_key=("scan", "allow_unencrypted"))
    add_option(parser, "--username", help="account for the endpoints, e.g. CORP\\auditor; the password comes from MAKAUDIT_PASSWORD or a prompt", metavar="USER", config_key=("scan", "username"))
    if workers:
        add_option(parser, "--workers", help=f"hosts queried at once (default 16, at most {MAX_WORKERS})", convert=worker_count, metavar="N", config_key=("scan", "workers"))
    add_option(parser, "--timeout", help="overall time limit per host, in seconds (default 120)", convert=positive_float, metavar="SECONDS", config_key=("scan", "timeout"))
    add_option(parser, "--connect-timeout", help="time limit for opening a connection, in seconds (default 10)", convert=positive_float, metavar="SECONDS", config_key=("scan", "connect_timeout"))
    add_option(parser, "--no-slmgr", help="do not run slmgr.vbs on the endpoints (WMI data only)", is_flag=True, config_key=("scan", "no_slmgr"))
