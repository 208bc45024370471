"""``makaudit inventory check FILE``: validate an inventory CSV and list every problem."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from makaudit.config import AuditConfig
from makaudit.errors import EXIT_USAGE
from makaudit.inventory import check_inventory, load_inventory


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("inventory", help="work with the MAK inventory CSV", description="Work with the MAK inventory CSV.")
    actions = parser.add_subparsers(dest="inventory_action", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check",
        help="validate an inventory CSV and list every problem with its line number",
        description="Validate an inventory CSV and list every problem with its line number and the fix. Exit status 2 when there is any problem.",
    )
    check.add_argument("file", type=Path, metavar="FILE", help="the inventory CSV")
    check.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace, config: AuditConfig) -> int:
    console = Console(stderr=False, highlight=False)
    problems = check_inventory(args.file)
    if problems:
        console.print(f"{args.file}: {len(problems)} problem(s)", markup=False)
        for problem in problems:
            console.print(f"  {problem}", markup=False)
        return EXIT_USAGE

    inventory = load_inventory(args.file)
    console.print(f"{args.file}: valid, {len(inventory.keys)} key(s)", markup=False)
    return 0
