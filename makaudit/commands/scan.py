"""``makaudit scan``: query endpoints remotely, store each result as it arrives, analyse and report."""

from __future__ import annotations

import argparse
import logging
import threading
from pathlib import Path

from makaudit.collectors.runner import run_scan
from makaudit.collectors.targets import read_targets
from makaudit.commands.options import add_option, add_output_options, add_remote_options
from makaudit.commands.pipeline import analyse_results, emit, key_ids_by_partial_key, load_run_context, write_reports
from makaudit.commands.remote import DEFAULT_TIMEOUT_SECONDS, connection_options
from makaudit.commands.storage import open_store, scan_parameters
from makaudit.config import AuditConfig
from makaudit.errors import EXIT_RUN_FAILED, RunError, UsageError
from makaudit.model import HostResult, HostStatus
from makaudit.reports.model import ScanInfo

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 16


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "scan",
        help="query endpoints over WinRM or PSRP, store the results, analyse and report",
        description=(
            "Query Windows endpoints over WinRM (pywinrm) or PowerShell Remoting (pypsrp) for their licensing "
            "state, store every host's result in the history database as it arrives, analyse MAK usage "
            "against the inventory and write the reports asked for. A target is NAME, ADDRESS, NAME:PORT or "
            "ADDRESS:PORT; IPv6 addresses with a port go in brackets ([::1]:5985)."
        ),
    )
    parser.add_argument("targets_positional", nargs="*", metavar="TARGET", help="host to query")
    add_option(parser, "--targets", help="file with one target per line (# comments and blank lines are ignored)", convert=Path, metavar="FILE", config_key=("scan", "targets"), dest="targets_file")
    add_remote_options(parser)
    add_output_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, config: AuditConfig) -> int:
    targets = read_targets(args.targets_positional, args.targets_file)
    if not targets:
        source = f"the targets file {args.targets_file} has none" if args.targets_file is not None else "none were given"
        raise UsageError(f"no targets to scan: {source}; name them as arguments or one per line in a file given with --targets")

    context = load_run_context(args, config)
    options = connection_options(args)
    workers = args.workers or DEFAULT_WORKERS
    timeout = args.timeout or DEFAULT_TIMEOUT_SECONDS

    with open_store(args) as store:
        scan_id = store.begin_scan("scan", scan_parameters(args))
        store_lock = threading.Lock()

        def keep(result: HostResult) -> None:
            with store_lock:
                store.add_host_result(scan_id, result)
            duration = "?" if result.duration_seconds is None else f"{result.duration_seconds:.1f}s"
            log.info("host %s: %s in %s%s", result.target, result.status.value, duration, f" ({result.error})" if result.error else "")

        outcome = None
        try:
            outcome = run_scan(targets, options, workers=workers, timeout=timeout, on_result=keep)
        finally:
            scan_status = "completed" if outcome is not None and not outcome.interrupted else "interrupted"
            store.finish_scan(scan_id, scan_status)
        trends = store.trend_points(key_ids_by_partial_key(context.inventory))

    if outcome.interrupted:
        raise RunError(
            f"scan interrupted: {len(outcome.results)} of {len(targets)} hosts finished and are stored in the history "
            "database; no reports were written, because they would miss the other hosts. Run the scan again, or "
            "makaudit report for reports of the stored state"
        )

    result = analyse_results(context, outcome.results, trends)
    scan = ScanInfo(
        started=context.started_at,
        finished=result.generated_at,
        source=f"scan over {options.transport}/{options.auth}",
        targets=len(targets),
    )
    written = write_reports(context, result, scan)
    exit_status = emit(context, result, written)

    collected = sum(1 for host in outcome.results if host.status is HostStatus.OK)
    if outcome.results and collected == 0:
        log.error(
            "none of the %d target(s) could be collected; check the credentials, the transport options and the network "
            "(each host's error is in the result)",
            len(outcome.results),
        )
        return EXIT_RUN_FAILED
    return exit_status
