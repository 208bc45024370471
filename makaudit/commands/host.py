"""``makaudit host NAME``: the helpdesk view of one host, live, from a file, or from the history."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path

from makaudit.analysis import exit_status_for
from makaudit.collectors.files import read_paths
from makaudit.collectors.runner import run_scan
from makaudit.collectors.targets import parse_target
from makaudit.commands.options import add_option, add_output_options, add_remote_options
from makaudit.commands.pipeline import analyse_results, key_ids_by_partial_key, load_run_context, make_console
from makaudit.commands.remote import DEFAULT_TIMEOUT_SECONDS, connection_options
from makaudit.commands.storage import db_path, open_store, scan_parameters
from makaudit.config import AuditConfig
from makaudit.errors import InputError, RunError
from makaudit.model import AnalysisResult, Finding, HostResult, HostStatus
from makaudit.reports.console import render_host_card

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "host",
        help="helpdesk view of one host: live, --from-file PATH, or --cached",
        description=(
            "Show one host's activation state for the helpdesk: each product with its status, channel and "
            "partial product key, the inventory key it uses with that key's usage against its allotment, the "
            "host's findings and a one-line verdict. Key usage counts come from the history database."
        ),
    )
    parser.add_argument("name", metavar="NAME", help="target to query (NAME, ADDRESS, NAME:PORT), or the computer name with --cached")
    source = parser.add_mutually_exclusive_group()
    add_option(parser, "--from-file", group=source, convert=Path, metavar="PATH", help="read the host's state from a collected file instead of querying it")
    add_option(parser, "--cached", group=source, is_flag=True, help="show the last stored state of the host instead of querying it")
    add_remote_options(parser, workers=False)
    add_output_options(parser, reports=False)
    add_option(parser, "--no-store", help="do not record a live query in the history database", is_flag=True)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, config: AuditConfig) -> int:
    context = load_run_context(args, config)
    key_ids = key_ids_by_partial_key(context.inventory)

    if args.cached:
        with open_store(args, create=False) as store:
            fleet = list(store.latest_results())
            trends = store.trend_points(key_ids)
        host = _find_cached(fleet, args.name)
    elif args.from_file is not None:
        host = _read_from_file(args.from_file, args.name)
        fleet, trends = _stored_fleet(args, key_ids)
    else:
        host = _query_live(args)
        with open_store(args) as store:
            if not args.no_store:
                scan_id = store.begin_scan("host", scan_parameters(args))
                store.add_host_result(scan_id, host)
                store.finish_scan(scan_id, "completed")
            fleet = list(store.latest_results())
            trends = store.trend_points(key_ids)

    others = [result for result in fleet if result.host_key != host.host_key]
    result = analyse_results(context, [*others, host], trends)
    host_result = next((candidate for candidate in result.hosts if candidate.host_key == host.host_key), host)

    if args.json:
        json.dump(_single_host_document(result, host_result), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        render_host_card(make_console(), host_result, result)

    host_findings = [finding for finding in result.findings if _concerns(finding, host_result)]
    return exit_status_for(host_findings, args.fail_on)


def _stored_fleet(args: argparse.Namespace, key_ids: dict[str, str]) -> tuple[list[HostResult], list]:
    """Return the stored fleet for key usage counts, or nothing when there is no history database yet."""
    if not db_path(args).exists():
        log.info("no history database at %s; key usage counts only this host", db_path(args))
        return [], []
    with open_store(args, create=False) as store:
        return list(store.latest_results()), store.trend_points(key_ids)


def _query_live(args: argparse.Namespace) -> HostResult:
    target = parse_target(args.name)
    options = connection_options(args)
    outcome = run_scan([target], options, workers=1, timeout=args.timeout or DEFAULT_TIMEOUT_SECONDS, progress="none")
    if not outcome.results:
        raise RunError(f"the query of {args.name} was interrupted before it finished")
    return outcome.results[0]


def _read_from_file(path: Path, name: str) -> HostResult:
    results = read_paths([path])
    readable = [result for result in results if result.status is HostStatus.OK]
    if not readable:
        reason = results[0].error if results else "no file found"
        raise InputError(f"could not read a host state from {path}: {reason}")

    matching = [result for result in readable if _matches(result, name)]
    if matching:
        return matching[0]
    if len(readable) == 1 and readable[0].computer_name is None:
        return readable[0]

    found = ", ".join(sorted({result.computer_name or result.target for result in readable}))
    raise InputError(f"{path} does not contain host {name!r}; it contains: {found}. Give one of these names")


def _find_cached(fleet: list[HostResult], name: str) -> HostResult:
    for result in fleet:
        if _matches(result, name):
            return result
    raise InputError(f"host {name!r} is not in the history database; scan it first, or query it live without --cached")


def _matches(result: HostResult, name: str) -> bool:
    """Return whether ``name`` is the host's target (with or without its port), computer name or DNS name."""
    requested_name = name.strip().lower()
    names = {result.target.lower(), _without_port(result.target).lower()}
    if result.state is not None:
        computer = result.state.computer
        names.update(value.lower() for value in (computer.name, computer.dns_host_name) if value)
    return requested_name in names


def _without_port(target: str) -> str:
    if target.startswith("["):
        return target[1 : target.find("]")] if "]" in target else target
    if target.count(":") == 1:
        return target.split(":", 1)[0]
    return target


def _concerns(finding: Finding, host: HostResult) -> bool:
    """Return whether a finding is about this host, or about a key installed on it."""
    names = {name for name in (host.target, host.computer_name) if name}
    if finding.host is not None:
        return finding.host in names
    if any(name in names for name in finding.hosts):
        return True
    return finding.partial_product_key is not None and finding.partial_product_key in _partial_keys(host)


def _partial_keys(host: HostResult) -> set[str]:
    if host.state is None:
        return set()
    return {record.partial_product_key for record in host.state.records if record.partial_product_key}


def _single_host_document(result: AnalysisResult, host: HostResult) -> dict:
    partial_keys = _partial_keys(host)
    narrowed = dataclasses.replace(
        result,
        hosts=(host,),
        keys=tuple(key for key in result.keys if key.partial_product_key in partial_keys),
        findings=tuple(finding for finding in result.findings if _concerns(finding, host)),
        trends=(),
    )
    return narrowed.to_document()
