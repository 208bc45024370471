"""Read queries of the history store: scans, latest state per host, key usage, one host's history.

Every function takes an open connection; the caller runs it inside one read
transaction so that all rows come from the same snapshot.
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from typing import Any, Mapping

from sqlalchemy import ColumnElement, Connection, Select, and_, func, or_, select, true, union

from makaudit.errors import StoreError
from makaudit.model import Channel, HostResult, HostStatus, KeyTrendPoint, LicenseStatus
from makaudit.store.records import HostHistoryEntry, ScanKind, ScanRow, ScanStatus
from makaudit.store.rows import rebuild_host_result
from makaudit.store.schema import host_results, license_records, scans

RECORD_PREFIX = "record_"
RECORD_COLUMNS = [column for column in license_records.c if column.name not in ("id", "host_result_id", "position")]


def fetch_scans(connection: Connection) -> list[ScanRow]:
    """Return every stored scan, oldest first."""
    query = select(scans).order_by(scans.c.started_at, scans.c.id)
    return [scan_row(row._mapping) for row in connection.execute(query)]


def scan_row(row: Mapping[str, Any]) -> ScanRow:
    try:
        return ScanRow(
            id=row["id"],
            kind=ScanKind(row["kind"]),
            status=ScanStatus(row["status"]),
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            hosts=row["hosts"],
            ok=row["ok"],
            parameters=json.loads(row["parameters"]),
        )
    except ValueError as error:
        raise StoreError(f"scan {row['id']} in the history database has an invalid value: {error}") from error


def latest_results(connection: Connection, as_of: datetime | None, include_documents: bool) -> list[HostResult]:
    """Return the latest successful result per host identity, plus the latest failure of hosts never successful.

    The identity is the machine UUID, else the computer name. A failure is
    grouped by its target and left out when any successful result was reached
    under that target or answered to it as computer name, DNS name or fully
    qualified DNS name. With
    ``as_of``, only results stored at or before that moment count.
    """
    stored_in_time = true() if as_of is None else host_results.c.recorded_at <= as_of
    successful = and_(host_results.c.status == HostStatus.OK.value, stored_in_time)
    failed = and_(host_results.c.status != HostStatus.OK.value, stored_in_time)

    latest_ok = _first_per_group(
        where=successful,
        group_by=host_results.c.host_key,
        newest_first=(func.coalesce(host_results.c.collected_at, host_results.c.recorded_at).desc(), host_results.c.id.desc()),
    )
    latest_failure = _first_per_group(
        where=and_(failed, func.lower(host_results.c.target).not_in(_names_ever_successful(successful))),
        group_by=func.lower(host_results.c.target),
        newest_first=(host_results.c.id.desc(),),
    )
    chosen = union(latest_ok, latest_failure).subquery()

    loaded = _load_results(connection, host_results.c.id.in_(select(chosen.c.id)), include_documents)
    results = [result for _, result in loaded]
    results.sort(key=lambda result: ((result.computer_name or result.target).lower(), result.target.lower()))
    return results


def _first_per_group(where: ColumnElement[bool], group_by: ColumnElement[Any], newest_first: tuple[Any, ...]) -> Select[Any]:
    ranked = (
        select(host_results.c.id, func.row_number().over(partition_by=group_by, order_by=newest_first).label("rank"))
        .where(where)
        .subquery()
    )
    return select(ranked.c.id).where(ranked.c.rank == 1)


def _names_ever_successful(successful: ColumnElement[bool]) -> Select[Any]:
    fqdn = host_results.c.dns_host_name + "." + host_results.c.domain
    names = [host_results.c.target, host_results.c.computer_name, host_results.c.dns_host_name, fqdn]
    selects = [select(func.lower(name)).where(successful, name.is_not(None)) for name in names]
    return union(*selects)


def _load_results(
    connection: Connection, condition: ColumnElement[bool], include_documents: bool
) -> list[tuple[Mapping[str, Any], HostResult]]:
    """Load the host results matching ``condition`` with their license records, in row id order."""
    host_columns = [column for column in host_results.c if include_documents or column.name != "document"]
    record_columns = [column.label(RECORD_PREFIX + column.name) for column in RECORD_COLUMNS]
    query = (
        select(*host_columns, *record_columns)
        .select_from(host_results.outerjoin(license_records, license_records.c.host_result_id == host_results.c.id))
        .where(condition)
        .order_by(host_results.c.id, license_records.c.position)
    )

    loaded = []
    rows = connection.execute(query).mappings()
    for _, group in itertools.groupby(rows, key=lambda row: row["id"]):
        group_rows = list(group)
        host_row = group_rows[0]
        record_rows = [_strip_prefix(row) for row in group_rows if row[RECORD_PREFIX + "channel"] is not None]
        if not include_documents:
            host_row = {**host_row, "document": None}
        loaded.append((host_row, _rebuild(host_row, record_rows, include_documents)))
    return loaded


def _strip_prefix(row: Mapping[str, Any]) -> dict[str, Any]:
    return {key[len(RECORD_PREFIX):]: value for key, value in row.items() if key.startswith(RECORD_PREFIX)}


def _rebuild(host_row: Mapping[str, Any], record_rows: list[dict[str, Any]], include_documents: bool) -> HostResult:
    try:
        return rebuild_host_result(host_row, record_rows, include_documents)
    except (ValueError, KeyError, TypeError) as error:
        raise StoreError(
            f"host result {host_row['id']} (target {host_row['target']!r}) in the history database "
            f"has an invalid value: {error}"
        ) from error


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def host_history(connection: Connection, name: str) -> list[HostHistoryEntry]:
    """Return one entry per scan for the host called ``name``, oldest scan first.

    ``name`` matches the computer name, DNS name or target, ignoring case. Results
    of the same machine (by UUID or computer name) under other names are included,
    so a renamed host keeps its history. Within one scan an ok result wins over a
    failure, and a later result over an earlier one.
    """
    lowered = name.strip().lower()
    named = or_(
        func.lower(host_results.c.computer_name) == lowered,
        func.lower(host_results.c.target) == lowered,
        # A target stored with its port (127.0.20.4:5985, [::1]:5985) matches the name without it.
        func.lower(host_results.c.target).like(_escape_like(lowered) + ":%", escape="\\"),
        func.lower(host_results.c.target).like("[" + _escape_like(lowered) + "]:%", escape="\\"),
        func.lower(host_results.c.dns_host_name) == lowered,
    )
    identities = {
        host_key
        for host_key in connection.execute(select(host_results.c.host_key).where(named).distinct()).scalars()
        if not host_key.startswith("target:")
    }
    condition = or_(named, host_results.c.host_key.in_(identities)) if identities else named

    loaded = _load_results(connection, condition, include_documents=False)
    scans_by_id = {scan.id: scan for scan in fetch_scans(connection)}
    best_per_scan: dict[int, tuple[Mapping[str, Any], HostResult]] = {}
    for host_row, result in loaded:
        current = best_per_scan.get(host_row["scan_id"])
        if current is None or _is_better(result, current[1]):
            best_per_scan[host_row["scan_id"]] = (host_row, result)

    entries = [HostHistoryEntry(scan=scans_by_id[scan_id], result=result) for scan_id, (_, result) in best_per_scan.items()]
    entries.sort(key=lambda entry: (entry.scan.started_at, entry.scan.id))
    return entries


def _is_better(candidate: HostResult, current: HostResult) -> bool:
    # Rows arrive in id order, so a candidate is never older than the current one.
    return candidate.status is HostStatus.OK or current.status is not HostStatus.OK


USAGE_SCAN_KINDS = (ScanKind.SCAN.value, ScanKind.IMPORT.value)


def counts_for_usage(scan: ScanRow) -> bool:
    """Return whether a scan covers the fleet: a completed scan or import, not a one-host query or an interrupted run."""
    return scan.kind.value in USAGE_SCAN_KINDS and scan.status is ScanStatus.COMPLETED


def key_usage(connection: Connection, partial_product_key: str | None) -> list[KeyTrendPoint]:
    """Return, per MAK partial key and per scan, the distinct hosts with a Licensed MAK record.

    Each point is the fleet as known after that scan: the latest successful
    result of every host collected so far, the same rule ``makaudit report``
    counts by. A scan or import that covers part of the fleet therefore
    changes only the hosts it collected, and a host that did not answer keeps
    its last known keys. ``hosts_added`` and ``hosts_removed`` compare with the
    previous point. Only completed scans and imports count (not a live query
    of one host, not an interrupted scan). Hosts are named by computer name,
    else by target; ``key_id`` is None. Points come in key order, then scan order.
    """
    all_scans = [scan for scan in fetch_scans(connection) if counts_for_usage(scan)]
    refreshed = _hosts_collected_per_scan(connection)
    licensed = _licensed_keys_per_scan(connection, partial_product_key)

    keys = sorted({key for per_host in licensed.values() for keys_of_host in per_host.values() for key in keys_of_host[1]})
    if partial_product_key is not None and partial_product_key not in keys:
        keys.append(partial_product_key)

    points: dict[str, list[KeyTrendPoint]] = {key: [] for key in keys}
    keys_of_host: dict[str, frozenset[str]] = {}
    hosts_of_key: dict[str, dict[str, str]] = {key: {} for key in keys}
    for scan in all_scans:
        added: dict[str, set[str]] = {key: set() for key in keys}
        removed: dict[str, set[str]] = {key: set() for key in keys}
        seen = licensed.get(scan.id, {})

        for host_key, label in refreshed.get(scan.id, {}).items():
            new_keys = seen.get(host_key, (label, frozenset()))[1]
            old_keys = keys_of_host.get(host_key, frozenset())
            for key in old_keys - new_keys:
                del hosts_of_key[key][host_key]
                removed[key].add(label)
            for key in new_keys:
                if key not in old_keys:
                    added[key].add(label)
                hosts_of_key[key][host_key] = label
            keys_of_host[host_key] = new_keys

        for key in keys:
            points[key].append(
                KeyTrendPoint(
                    scan_id=scan.id,
                    scan_started_at=scan.started_at,
                    key_id=None,
                    partial_product_key=key,
                    activated=len(hosts_of_key[key]),
                    hosts_added=_sorted_labels(added[key] - removed[key]),
                    hosts_removed=_sorted_labels(removed[key] - added[key]),
                )
            )

    return [point for key in keys for point in points[key]]


def _hosts_collected_per_scan(connection: Connection) -> dict[int, dict[str, str]]:
    """Map each counted scan to the hosts it collected successfully (host key to label)."""
    query = (
        select(
            host_results.c.scan_id,
            host_results.c.host_key,
            func.coalesce(host_results.c.computer_name, host_results.c.target).label("label"),
        )
        .select_from(host_results.join(scans, host_results.c.scan_id == scans.c.id))
        .where(
            scans.c.kind.in_(USAGE_SCAN_KINDS),
            scans.c.status == ScanStatus.COMPLETED.value,
            host_results.c.status == HostStatus.OK.value,
        )
    )
    collected: dict[int, dict[str, str]] = {}
    for row in connection.execute(query):
        collected.setdefault(row.scan_id, {})[row.host_key] = row.label
    return collected


def _licensed_keys_per_scan(connection: Connection, partial_product_key: str | None) -> dict[int, dict[str, tuple[str, frozenset[str]]]]:
    """Map each counted scan to its hosts' Licensed MAK partial keys (host key to label and keys)."""
    found: dict[int, dict[str, tuple[str, set[str]]]] = {}
    for row in connection.execute(_activations_query(partial_product_key)):
        per_host = found.setdefault(row.scan_id, {})
        per_host.setdefault(row.host_key, (row.label, set()))[1].add(row.partial_product_key)
    return {scan_id: {host: (label, frozenset(keys)) for host, (label, keys) in per_host.items()} for scan_id, per_host in found.items()}


def _sorted_labels(labels: set[str]) -> tuple[str, ...]:
    return tuple(sorted(labels, key=str.lower))


def _activations_query(partial_product_key: str | None) -> Select[Any]:
    conditions = [
        scans.c.kind.in_(USAGE_SCAN_KINDS),
        scans.c.status == ScanStatus.COMPLETED.value,
        license_records.c.channel == Channel.MAK.value,
        license_records.c.license_status_code == int(LicenseStatus.LICENSED),
        host_results.c.status == HostStatus.OK.value,
        license_records.c.partial_product_key.is_not(None),
    ]
    if partial_product_key is not None:
        conditions.append(license_records.c.partial_product_key == partial_product_key)

    joined = license_records.join(host_results, license_records.c.host_result_id == host_results.c.id).join(
        scans, host_results.c.scan_id == scans.c.id
    )
    return (
        select(
            license_records.c.partial_product_key,
            host_results.c.scan_id,
            host_results.c.host_key,
            func.coalesce(host_results.c.computer_name, host_results.c.target).label("label"),
        )
        .select_from(joined)
        .where(*conditions)
        .order_by(license_records.c.partial_product_key, scans.c.started_at, scans.c.id)
    )


