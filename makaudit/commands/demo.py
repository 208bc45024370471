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
from makaudit.commands.options import positive_int
from makaudit.commands.pipeline import RunContext, analyse_results, make_console
from makaudit.config import AuditConfig
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
    parser.add_argument("--hosts", type=positive_int, default=60, metavar="N", help="number of emulated hosts (default 60)")
    parser.add_argument("--seed", type=int, default=7, metavar="S", help="seed of the generated fleet (default 7)")
    parser.add_argument("--out", type=Path, default=Path("demo-output"), metavar="DIR", help="output folder (default ./demo-output)")
    parser.add_argument("--transport", choices=("winrm", "psrp"), default="winrm", help="client library to scan with (default winrm)")
    parser.add_argument("--faults", choices=("none", "mixed"), default="mixed", help="'mixed' makes about 10%% of the hosts faulty (default), 'none' keeps all healthy")
    parser.add_argument("--workers", type=positive_int, default=16, metavar="N", help="hosts queried at once (default 16)")
    parser.set_defaults(handler=run, json=False, fail_on=None)


def run(args: argparse.Namespace, config: AuditConfig) -> int:
    console = make_console()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

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
