"""``makaudit import PATH ...``: read collected files instead of querying endpoints."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from makaudit.collectors.files import read_paths
from makaudit.commands.options import add_option, add_output_options
from makaudit.commands.pipeline import analyse_results, emit, key_ids_by_partial_key, load_run_context, write_reports
from makaudit.commands.storage import open_store, scan_parameters
from makaudit.config import AuditConfig
from makaudit.errors import InputError
from makaudit.model import HostStatus
from makaudit.reports.model import ScanInfo

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import",
        help="read endpoint documents, slmgr text or WMI dumps from files and folders",
        description=(
            "Read collected files instead of querying endpoints: endpoint documents (makaudit-endpoint JSON), "
            "raw slmgr /dlv, /dli and /xpr text, ospp.vbs /dstatus text, and Get-CimInstance "
            "SoftwareLicensingProduct dumps (JSON or Format-List). Folders are read recursively and each "
            "file's format is detected from its content."
        ),
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="file or folder to read")
    add_output_options(parser)
    add_option(parser, "--no-store", help="do not record this import in the history database", is_flag=True)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, config: AuditConfig) -> int:
    context = load_run_context(args, config)
    results = read_paths(args.paths)

    readable = [host for host in results if host.status is HostStatus.OK]
    for host in results:
        if host.status is not HostStatus.OK:
            log.warning("could not read %s: %s", host.target, host.error)
    if not readable:
        raise InputError(
            f"none of the {len(results)} file(s) under {', '.join(str(path) for path in args.paths)} could be read; "
            "check that they are endpoint documents, slmgr or ospp.vbs text, or SoftwareLicensingProduct dumps"
        )

    trends = []
    if not args.no_store:
        with open_store(args) as store:
            scan_id = store.begin_scan("import", scan_parameters(args))
            store.add_host_results(scan_id, readable)
            store.finish_scan(scan_id, "completed")
            trends = store.trend_points(key_ids_by_partial_key(context.inventory))

    result = analyse_results(context, results, trends)
    scan = ScanInfo(
        started=context.started_at,
        finished=result.generated_at,
        source=f"import of {len(args.paths)} path(s)",
        targets=len(results),
    )
    written = write_reports(context, result, scan)
    return emit(context, result, written)
