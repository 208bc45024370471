"""The steps every command shares after it has host results: analyse, report, print, exit status."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import logging
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from rich.console import Console

from makaudit.analysis import analyse, exit_status_for
from makaudit.config import AuditConfig
from makaudit.errors import UsageError
from makaudit.inventory import Inventory, load_inventory
from makaudit.model import AnalysisResult, HostResult, KeyTrendPoint
from makaudit.reports.console import render_summary
from makaudit.reports.excel import write_xlsx
from makaudit.reports.html import write_html
from makaudit.reports.model import ScanInfo, build_report

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunContext:
    """Settings a command resolves before collecting: configuration, inventory and output options."""

    args: argparse.Namespace
    config: AuditConfig
    inventory: Inventory | None
    started_at: datetime


def load_run_context(args: argparse.Namespace, config: AuditConfig) -> RunContext:
    """Check the report paths and load the inventory named by ``--inventory``, before any collection starts.

    Raises UsageError for a report path that cannot be written and InventoryError for an invalid inventory,
    so that a long scan never ends with nowhere to write its reports.
    """
    started_at = datetime.now(timezone.utc)
    for option in ("xlsx", "html"):
        path = getattr(args, option, None)
        if path is not None:
            check_report_path(f"--{option}", fill_date(path, started_at))

    inventory = None
    if getattr(args, "inventory", None) is not None:
        inventory = load_inventory(args.inventory)
        log.info("inventory %s: %d keys", args.inventory, len(inventory.keys))
    return RunContext(args=args, config=config, inventory=inventory, started_at=started_at)


def check_report_path(option: str, path: Path) -> None:
    """Raise UsageError when a report cannot be written at ``path``."""
    try:
        _check_report_path(option, path)
    except OSError as error:
        raise UsageError(f"{option} {path}: {error.strerror or error}; choose another path") from None


REPORT_SUFFIXES = {"--xlsx": (".xlsx",), "--html": (".html", ".htm")}


def _check_report_path(option: str, path: Path) -> None:
    if not str(path).strip() or str(path) == ".":
        raise UsageError(f"{option} is empty; give the path of the report file")
    suffixes = REPORT_SUFFIXES.get(option)
    if suffixes and path.suffix.lower() not in suffixes:
        raise UsageError(f"{option} {path}: the file name must end in {' or '.join(suffixes)}, so that it opens in the right program")
    if path.is_dir():
        raise UsageError(f"{option} {path} is a folder; give a file name such as {path / 'makaudit-report'}")
    if path.exists() and not path.is_file():
        raise UsageError(f"{option} {path} is not a regular file (a device, pipe or socket); choose a file path for the report")
    folder = path.parent if str(path.parent) else Path(".")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{option} {path}: {folder} is a file, not a folder; choose a path inside an existing folder")
    if not folder.is_dir():
        raise UsageError(f"{option} {path}: the folder {folder} does not exist; create it or choose another path")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: the folder {folder} is not writable; choose another path or fix its permissions")


def key_ids_by_partial_key(inventory: Inventory | None) -> dict[str, str]:
    if inventory is None:
        return {}
    return {key.partial_product_key: key.key_id for key in inventory.keys}


def analyse_results(context: RunContext, results: Sequence[HostResult], trends: Sequence[KeyTrendPoint] = ()) -> AnalysisResult:
    result = analyse(results, context.inventory, context.config, datetime.now(timezone.utc), trends=trends)
    return dataclasses.replace(result, inventory_loaded=context.inventory is not None)


def fill_date(path: Path, moment: datetime) -> Path:
    """Replace a ``{date}`` placeholder in a report path with the run's date (YYYY-MM-DD)."""
    return Path(str(path).replace("{date}", moment.strftime("%Y-%m-%d")))


def write_reports(context: RunContext, result: AnalysisResult, scan: ScanInfo) -> list[Path]:
    """Write the Excel and HTML reports that the options ask for; return the paths written."""
    written: list[Path] = []
    args = context.args
    if getattr(args, "xlsx", None) is None and getattr(args, "html", None) is None:
        return written

    report = build_report(result, scan=scan)
    if getattr(args, "xlsx", None) is not None:
        path = fill_date(args.xlsx, context.started_at)
        write_xlsx(report, path)
        written.append(path)
    if getattr(args, "html", None) is not None:
        path = fill_date(args.html, context.started_at)
        write_html(report, path)
        written.append(path)

    for path in written:
        log.info("report written: %s", path)
    return written


class _OutputConsole(Console):
    """A rich console that reports a closed pipe to the caller instead of exiting with status 1.

    Status 1 means findings at or above --fail-on, so a reader that stops early (``| head``) must not
    produce it. The command line maps BrokenPipeError to status 3.
    """

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError("standard output was closed")


def make_console() -> Console:
    """Create a rich console for standard output, wide enough for key ids when the output is a pipe or a file."""
    if sys.stdout.isatty():
        return _OutputConsole()
    return _OutputConsole(width=140)


def emit(context: RunContext, result: AnalysisResult, written: Sequence[Path]) -> int:
    """Print the JSON document or the terminal summary, and return the exit status for ``--fail-on``."""
    args = context.args
    if args.json:
        json.dump(result.to_document(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        console = make_console()
        render_summary(console, result)
        for path in written:
            console.print(f"Report written: {path}")

    return exit_status_for(result.findings, args.fail_on)
