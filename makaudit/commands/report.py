"""``makaudit report``: analyse the stored state (latest result per host) and write reports."""

from __future__ import annotations

import argparse

from makaudit.commands.options import add_output_options
from makaudit.commands.pipeline import analyse_results, emit, key_ids_by_partial_key, load_run_context, write_reports
from makaudit.commands.storage import open_store
from makaudit.config import AuditConfig
from makaudit.errors import RunError
from makaudit.reports.model import ScanInfo


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="analyse the stored state and write reports",
        description=(
            "Analyse the latest stored result of every host in the history database against the inventory "
            "and write the reports asked for. Hosts not collected within the configured number of days "
            "are reported as stale."
        ),
    )
    add_output_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, config: AuditConfig) -> int:
    context = load_run_context(args, config)

    with open_store(args, create=False) as store:
        results = list(store.latest_results())
        scans = store.list_scans()
        trends = store.trend_points(key_ids_by_partial_key(context.inventory))

    if not results:
        raise RunError("the history database contains no host results yet; run makaudit scan or makaudit import first")

    result = analyse_results(context, results, trends)
    scan = ScanInfo(
        started=min(scan.started_at for scan in scans) if scans else context.started_at,
        finished=max((scan.finished_at for scan in scans if scan.finished_at is not None), default=None),
        source=f"stored state from {len(scans)} scan(s)",
        targets=len(results),
    )
    written = write_reports(context, result, scan)
    return emit(context, result, written)
