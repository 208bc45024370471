"""Command-line entry point: parse options, set up logging, run a command, map errors to exit codes.

Exit status: 0 done; 1 findings at or above ``--fail-on``; 2 invalid usage or
input; 3 the run itself failed (database unusable, no target could be read).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import logging.handlers
import sys
import tomllib
from pathlib import Path
from typing import Any, Sequence

from makaudit import __version__
from makaudit.errors import EXIT_RUN_FAILED, MakauditError, UsageError

log = logging.getLogger("makaudit")

# Client libraries log whole protocol messages at DEBUG; they stay at WARNING
# unless protocol debugging is asked for with MAKAUDIT_DEBUG_PROTOCOL=1.
QUIET_LIBRARIES = ("pypsrp", "winrm", "requests", "urllib3", "spnego", "psrpcore", "requests_ntlm")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _ArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors become UsageError (exit 2) with the usual message."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message}. Run '{self.prog} --help' for the options.")


def build_parser() -> argparse.ArgumentParser:
    from makaudit.commands import demo, history, host, import_cmd, inventory_cmd, report, scan

    parser = _ArgumentParser(
        prog="makaudit",
        description="Audit Windows and Office volume activation (MAK, KMS) across a fleet against the MAK inventory.",
    )
    parser.add_argument("--version", action="version", version=f"makaudit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_ArgumentParser)
    for module in (scan, import_cmd, host, report, history, inventory_cmd, demo):
        module.register(subparsers)
    return parser


def configure_logging(level_name: str | None, log_file: Path | None) -> None:
    """Send logs to stderr at the chosen level, and to a rotating file at INFO or finer when one is given.

    The file always gets INFO so that a scheduled run keeps its one line per host.
    """
    console_level = getattr(logging, (level_name or "warning").upper())
    file_level = min(console_level, logging.INFO)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_makaudit", False):
            root.removeHandler(handler)

    console_handler = logging.StreamHandler(sys.stderr)
    console_handler.setLevel(console_level)
    handlers: list[logging.Handler] = [console_handler]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        if not log_file.exists():
            # Created owner-only, like the history database: the log names hosts, accounts and errors.
            os.close(os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        file_handler = logging.handlers.RotatingFileHandler(log_file, maxBytes=10 * 1024 * 1024, backupCount=5, encoding="utf-8")
        file_handler.setLevel(file_level)
        handlers.append(file_handler)

    root.setLevel(min(handler.level for handler in handlers))
    for handler in handlers:
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler._makaudit = True  # type: ignore[attr-defined]
        root.addHandler(handler)

    protocol_debug = level_name == "debug" and _env_flag("MAKAUDIT_DEBUG_PROTOCOL")
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.DEBUG if protocol_debug else logging.WARNING)


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def read_config_values(path: Path | None) -> tuple[Any, dict[tuple[str, str], Any]]:
    """Load the audit configuration and the flat (section, key) values that options may take from it."""
    from makaudit.config import load_config

    config = load_config(path)
    values: dict[tuple[str, str], Any] = {}
    if path is not None:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
        for section, entries in document.items():
            if isinstance(entries, dict):
                for key, value in entries.items():
                    values[(section, key)] = value
    return config, values


def main(argv: Sequence[str] | None = None) -> int:
    from makaudit.commands.options import resolve

    try:
        parser = build_parser()
        args, unknown = parser.parse_known_args(argv)
        if unknown:
            raise UsageError(f"unrecognized arguments: {' '.join(unknown)}. Run 'makaudit {args.command} --help' for the options.")
        signal.signal(signal.SIGTERM, _interrupt_on_sigterm)

        resolve(args, {})
        config_path = getattr(args, "config", None)
        config, config_values = read_config_values(config_path)
        resolve(args, config_values, config_dir=None if config_path is None else config_path.parent)

        log_file = getattr(args, "log_file", None)
        try:
            configure_logging(getattr(args, "log_level", None), log_file)
        except OSError as error:
            raise UsageError(f"cannot write the log file {log_file}: {error.strerror or error}; choose another --log-file") from None
        return args.handler(args, config)

    except MakauditError as error:
        print(f"makaudit: error: {error}", file=sys.stderr)
        _log_to_file(logging.ERROR, f"run failed with exit status {error.exit_code}: {error}")
        return error.exit_code
    except KeyboardInterrupt:
        print("makaudit: interrupted", file=sys.stderr)
        _log_to_file(logging.ERROR, "interrupted")
        return EXIT_RUN_FAILED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_RUN_FAILED
    except OSError as error:
        if error.filename is not None:
            message = f"{error.filename}: {error.strerror or error}"
        else:
            _silence_stdout()
            message = f"could not write the output: {error.strerror or error}"
        print(f"makaudit: error: {message}", file=sys.stderr)
        _log_to_file(logging.ERROR, message)
        return EXIT_RUN_FAILED


def _log_to_file(level: int, message: str) -> None:
    """Write a message to the log file only, because standard error already shows it to the user."""
    record = logging.LogRecord("makaudit", level, __file__, 0, message, None, None)
    for handler in logging.getLogger().handlers:
        if getattr(handler, "_makaudit", False) and isinstance(handler, logging.FileHandler):
            handler.handle(record)


def _interrupt_on_sigterm(signum: int, frame: object) -> None:
    """Stop on SIGTERM (systemd, kill) the way Ctrl-C does, so a scan keeps its finished hosts."""
    raise KeyboardInterrupt


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush does not fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
