"""``makaudit history``: the stored scans, one key's usage over time, or one host's records over time."""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.table import Table

from makaudit.commands.options import add_option, add_output_options
from makaudit.commands.pipeline import key_ids_by_partial_key, load_run_context, make_console
from makaudit.commands.storage import open_store
from makaudit.config import AuditConfig
from makaudit.errors import InputError, UsageError
from makaudit.productkey import mask_full_keys
from makaudit.store import history_document


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "history",
        help="list stored scans, or one key's or one host's history",
        description=(
            "Without filters, list the stored scans and every key's activations per scan. With --key, the "
            "usage of one MAK over time: activated hosts per scan, hosts added and removed. With --host, "
            "one host's status and licenses in each scan."
        ),
    )
    filters = parser.add_mutually_exclusive_group()
    add_option(parser, "--key", group=filters, metavar="KEY_ID", help="inventory key id (needs --inventory) or the key's last five characters")
    add_option(parser, "--host", group=filters, metavar="NAME", help="computer name or target")
    add_output_options(parser, reports=False, fail_on=False)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, config: AuditConfig) -> int:
    context = load_run_context(args, config)
    partial_key = _partial_key_for(args.key, context.inventory) if args.key else None

    with open_store(args, create=False) as store:
        document = history_document(store, key_partial=partial_key, host=args.host, key_ids=key_ids_by_partial_key(context.inventory))

    if args.host and not document.get("host_records"):
        raise InputError(f"host {args.host!r} is not in the history database; check the computer name or target")

    if args.json:
        json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        _print_tables(make_console(), document, inventory_loaded=context.inventory is not None)
    return 0


def _partial_key_for(key: str, inventory) -> str:
    if inventory is not None:
        for entry in inventory.keys:
            if entry.key_id.lower() == key.lower():
                return entry.partial_product_key
    candidate = key.strip().upper()
    if len(candidate) == 5 and candidate.isalnum():
        return candidate
    shown = repr(mask_full_keys(key)) if len(key) <= 40 else f"of {len(key)} characters"
    if inventory is None:
        raise UsageError(f"--key {shown} is not a five-character partial product key; pass --inventory FILE to look up key ids")
    raise UsageError(f"--key {shown} is neither a key id of the inventory nor a five-character partial product key")


def _print_tables(console: Console, document: dict, *, inventory_loaded: bool) -> None:
    scans = Table(title="Scans")
    for column in ("id", "kind", "started", "finished", "status", "hosts", "ok"):
        scans.add_column(column)
    for scan in document.get("scans", []):
        scans.add_row(
            str(scan["id"]), scan.get("kind", ""), scan["started_at"] or "", scan["finished_at"] or "", scan["status"], str(scan["hosts"]), str(scan["ok"])
        )
    console.print(scans)

    if "key_usage" in document:
        usage = Table(title="Activated hosts per key and scan")
        for column in ("scan", "key", "partial key", "activated", "added", "removed"):
            usage.add_column(column)
        for row in document["key_usage"]:
            usage.add_row(
                str(row["scan_id"]),
                row.get("key_id") or ("(not in inventory)" if inventory_loaded else "(no inventory loaded)"),
                row["partial_product_key"],
                str(row["activated"]),
                str(len(row.get("hosts_added", []))),
                str(len(row.get("hosts_removed", []))),
            )
        console.print(usage)

    if "host_records" in document:
        records = Table(title="Host records per scan")
        for column in ("scan", "status", "licenses"):
            records.add_column(column)
        for entry in document["host_records"]:
            licenses = ", ".join(
                f"{item['name']} [{item['channel']}, {item['license_status']}, {item['partial_product_key']}]"
                for item in entry.get("licenses", [])
            )
            records.add_row(str(entry["scan_id"]), entry["status"], licenses or entry.get("error") or "")
        console.print(records)
