"""``makaudit demo``: start the built-in test fleet on loopback, scan it, and write the reports."""

from __future__ import annotations

import argparse
import json
import logging
from datetime import datetime, timezone
from pathlib import Path

from makaudit.collectors.options import ConnectionOptions
from makaudit.collectors.runner import run_scan
from makaudit.collectors.targets import parse_target
from makaudit.commands.options import add_option, positive_int, worker_count
from makaudit.commands.pipeline import RunContext, analyse_results, make_console
from makaudit.config import AuditConfig
from makaudit.errors import RunError, UsageError
from makaudit.inventory import load_inventory
from makaudit.reports.console import render_summary
from makaudit.reports.excel import write_xlsx
from makaudit.reports.html import write_html
from makaudit.reports.model import ScanInfo, build_report
from makaudit.store import HistoryStore
from makaudit.testing.builder import build_fleet, write_fleet_files
from makaudit.testing.fleet import FleetServer

log = logging.getLogger(__name__)

DEMO_TIMEOUT_SECONDS = 15.0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="start the built-in test fleet on loopback, scan it and write the reports",
        description=(
            "Start a fleet of emulated Windows hosts on loopback addresses (127.0.20.x), scan it over WinRM "
            "with NTLM and message encryption using the real pywinrm client, and write the Excel, HTML and "
            "JSON reports and a history database into the output folder. Nothing leaves this machine."
        ),
    )
    add_option(parser, "--hosts", convert=positive_int, metavar="N", help="number of emulated hosts (default 60)")
    add_option(parser, "--seed", convert=_seed, metavar="S", help="seed of the generated fleet (default 7)")
    add_option(parser, "--out", convert=Path, metavar="DIR", help="output folder (default ./demo-output)")
    add_option(parser, "--transport", convert=_demo_transport, metavar="NAME", help="client library to scan with: winrm (default) or psrp")
    add_option(parser, "--faults", convert=_demo_faults, metavar="MODE", help="'mixed' makes about 10%% of the hosts faulty (default), 'none' keeps all healthy")
    add_option(parser, "--workers", convert=worker_count, metavar="N", help="hosts queried at once (default 16)")
    parser.set_defaults(handler=run, json=False, fail_on=None)


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number") from None


def _demo_transport(text: str) -> str:
    if text not in ("winrm", "psrp"):
        raise ValueError(f"{text!r} is not a transport; use winrm or psrp")
    return text


def _demo_faults(text: str) -> str:
    if text not in ("none", "mixed"):
        raise ValueError(f"{text!r} is not a fault mode; use none or mixed")
    return text


def _fill_demo_defaults(args: argparse.Namespace) -> None:
    defaults = {"hosts": 60, "seed": 7, "out": Path("demo-output"), "transport": "winrm", "faults": "mixed", "workers": 16}
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)


def run(args: argparse.Namespace, config: AuditConfig) -> int:
    _fill_demo_defaults(args)
    console = make_console()
    out: Path = args.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"--out {out}: cannot create the output folder ({error.strerror or error}); choose another folder") from None

    fleet = build_fleet(args.hosts, seed=args.seed, faults=args.faults)
    write_fleet_files(fleet, out / "fleet")
    inventory = load_inventory(out / "fleet" / "inventory.csv")
    console.print(f"Built {len(fleet.machines)} emulated hosts (seed {args.seed}); inventory: {out / 'fleet' / 'inventory.csv'}")

    with FleetServer(fleet.machines) as server:
        options = ConnectionOptions(
            transport=args.transport,
            auth="ntlm",
            https=False,
            port=None,
            ca_bundle=None,
            verify_tls=True,
            username=server.username,
            password=server.password,
            allow_unencrypted=False,
            connect_timeout=5.0,
            no_slmgr=False,
            debug_protocol=False,
        )
        targets = [machine.target for machine in fleet.machines]
        console.print(f"Scanning {len(targets)} hosts over {args.transport}/ntlm on loopback ...")
        started_at = datetime.now(timezone.utc)

        with HistoryStore.open(out / "history.sqlite") as store:
            scan_id = store.begin_scan("scan", {"demo": True, "hosts": args.hosts, "seed": args.seed, "transport": args.transport})
            outcome = run_scan(
                [parse_target(target) for target in targets],
                options,
                workers=args.workers,
                timeout=DEMO_TIMEOUT_SECONDS,
                on_result=lambda result: store.add_host_result(scan_id, result),
            )
            store.finish_scan(scan_id, "interrupted" if outcome.interrupted else "completed")
            if outcome.interrupted:
                raise RunError(f"demo scan interrupted after {len(outcome.results)} of {len(targets)} hosts; no reports were written")
            trends = store.trend_points({key.partial_product_key: key.key_id for key in inventory.keys})

    context = RunContext(args=args, config=config, inventory=inventory, started_at=started_at)
    result = analyse_results(context, outcome.results, trends)
    report = build_report(result, title="makaudit demo: volume activation audit", scan=ScanInfo(
        started=context.started_at,
        finished=result.generated_at,
        source=f"demo scan over {args.transport}/ntlm of the built-in test fleet",
        targets=len(targets),
    ))

    xlsx_path = out / "report.xlsx"
    html_path = out / "report.html"
    json_path = out / "result.json"
    write_xlsx(report, xlsx_path)
    write_html(report, html_path)
    json_path.write_text(json.dumps(result.to_document(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    render_summary(console, result)
    console.print(f"Excel report: {xlsx_path}")
    console.print(f"HTML report:  {html_path}")
    console.print(f"JSON result:  {json_path}")
    console.print(f"History:      {out / 'history.sqlite'}")
    return 0
