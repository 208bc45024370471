"""The fleet as pandas tables: one row per host (latest result only) and one row per keyed license record.

This is the only place that walks the HostResult objects; every rule after it
works on the tables with vectorised pandas operations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Sequence

import numpy as np
import pandas as pd

from makaudit.model import Channel, HostResult, HostStatus

CHANNELS = [channel.value for channel in Channel]
HOST_STATUSES = [status.value for status in HostStatus]
NO_STATUS = -1
"""Stand-in for a record without a LicenseStatus in the int8 ``status`` column."""


@dataclass(frozen=True)
class FleetFrames:
    """The latest result of each host and its keyed license records.

    ``hosts`` has one row per entry of ``results`` (same position): ``label``
    (computer name, else target), ``target``, ``status``, ``error``,
    ``collected_at`` (UTC), ``has_state``, ``kms_machine`` (machine-wide KMS host)
    and ``own_names`` (lower-case computer and DNS names, for self-pointing KMS).

    ``records`` has one row per license record with a partial product key:
    ``host`` (position in ``results``), ``name``, ``channel``, ``partial_product_key``
    (upper case), ``status`` (int8 LicenseStatus, -1 when unknown),
    ``grace_minutes`` (float, NaN when unknown) and ``kms_machine`` (the record's,
    else the machine-wide value).
    """

    results: tuple[HostResult, ...]
    hosts: pd.DataFrame
    records: pd.DataFrame


def to_utc(moment: datetime | None) -> datetime | None:
    """Return ``moment`` in UTC; a naive datetime is taken as UTC, as the result document does."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def latest_results(results: Sequence[HostResult]) -> tuple[HostResult, ...]:
    """Keep one result per host (HostResult.host_key), the one collected last, in input order.

    A result without a collection time (a failed host) loses against one with a
    time. Between equal times the later entry of ``results`` wins.
    """
    if not results:
        return ()

    table = pd.DataFrame(
        {
            "host_key": host_keys(results),
            "collected_at": pd.to_datetime(
                [to_utc(result.state.collected_at) if result.state else None for result in results], utc=True
            ),
        }
    )
    ordered = table.sort_values("collected_at", na_position="first", kind="stable")
    kept = ordered.drop_duplicates("host_key", keep="last").index.sort_values()
    return tuple(results[position] for position in kept)


def host_keys(results: Sequence[HostResult]) -> pd.Series:
    """Return HostResult.host_key of every result, computed column-wise for speed.

    Same rule as the model: ``uuid:`` and the upper-case machine UUID, else
    ``name:`` and the upper-case computer name, else ``target:`` and the lower-case target.
    """
    computers = [None if result.state is None else result.state.computer for result in results]
    uuids = pd.Series([None if computer is None else computer.uuid for computer in computers], dtype=object)
    names = pd.Series([None if computer is None else computer.name for computer in computers], dtype=object)
    targets = pd.Series([result.target for result in results], dtype=object)

    by_uuid = "uuid:" + uuids.fillna("").str.upper()
    by_name = "name:" + names.fillna("").str.upper()
    by_target = "target:" + targets.str.lower()
    has_uuid = uuids.fillna("").astype(bool)
    has_name = names.fillna("").astype(bool)
    return by_uuid.where(has_uuid, by_name.where(has_name, by_target))


def build_frames(results: Sequence[HostResult]) -> FleetFrames:
    """Build the host and record tables from results already reduced to one per host."""
    results = tuple(results)
    return FleetFrames(results=results, hosts=_host_table(results), records=_record_table(results))


def _host_table(results: tuple[HostResult, ...]) -> pd.DataFrame:
    states = [result.state for result in results]

    labels = [result.computer_name or result.target for result in results]
    own_names = [
        "" if state is None else " ".join(
            name.lower() for name in (state.computer.name, state.computer.dns_host_name) if name
        )
        for state in states
    ]
    return pd.DataFrame(
        {
            "label": labels,
            "target": [result.target for result in results],
            "status": pd.Categorical([result.status for result in results], categories=HOST_STATUSES),
            "error": [result.error for result in results],
            "collected_at": pd.to_datetime(
                [None if state is None else to_utc(state.collected_at) for state in states], utc=True
            ),
            "has_state": np.array([state is not None for state in states], dtype=bool),
            "kms_machine": [None if state is None else state.kms_machine for state in states],
            "own_names": own_names,
        }
    )


def _record_table(results: tuple[HostResult, ...]) -> pd.DataFrame:
    positions: list[int] = []
    records = []
    for position, result in enumerate(results):
        if result.state is None:
            continue
        for record in result.state.records:
            if record.partial_product_key:
                positions.append(position)
                records.append(record)

    count = len(records)
    host = np.fromiter(positions, dtype=np.int64, count=count)
    statuses = np.fromiter(
        (NO_STATUS if record.license_status is None else record.license_status for record in records),
        dtype=np.int8,
        count=count,
    )
    grace = np.fromiter(
        (np.nan if record.grace_minutes is None else record.grace_minutes for record in records),
        dtype=np.float64,
        count=count,
    )

    frame = pd.DataFrame(
        {
            "host": host,
            "name": pd.Categorical([record.name for record in records]),
            # Channel is a StrEnum, so its members equal the category strings.
            "channel": pd.Categorical([record.channel for record in records], categories=CHANNELS),
            "partial_product_key": _upper_categorical([record.partial_product_key for record in records]),
            "status": statuses,
            "grace_minutes": grace,
            "kms_machine": _kms_machines(records, host, results),
        }
    )
    return frame


def _upper_categorical(values: list) -> pd.Categorical:
    """Return the values as an upper-case, trimmed categorical; each distinct value is converted once."""
    codes, uniques = pd.factorize(np.array(values, dtype=object))
    upper = np.array([str(value).strip().upper() for value in uniques], dtype=object)
    return pd.Categorical(upper[codes]) if len(codes) else pd.Categorical([])


def _kms_machines(records: list, host: np.ndarray, results: tuple[HostResult, ...]) -> pd.Categorical:
    own = pd.Series([record.kms_machine for record in records], dtype=object)
    if own.empty:
        return pd.Categorical([])

    machine_wide = np.array([None if result.state is None else result.state.kms_machine for result in results], dtype=object)
    fallback = pd.Series(machine_wide[host], dtype=object)
    return pd.Categorical(own.where(own.notna() & (own != ""), fallback))
