"""The fleet as pandas tables: one row per host (latest result only) and one row per keyed license record.

This is the only place that walks the HostResult objects; every rule after it
works on the tables with vectorised pandas operations.
"""

from __future__ import annotations

import operator
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


def collection_times(results: Sequence[HostResult]) -> pd.Series:
    """Return each result's collection time as UTC timestamps (NaT when unknown).

    Going through POSIX seconds is several times faster than letting pandas
    convert a list of timezone-aware datetime objects.
    """
    seconds = np.fromiter(
        (
            np.nan if result.state is None or result.state.collected_at is None
            else to_utc(result.state.collected_at).timestamp()
            for result in results
        ),
        dtype=np.float64,
        count=len(results),
    )
    return pd.Series(pd.to_datetime(seconds, unit="s", utc=True)).dt.round("us")


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
            "collected_at": collection_times(results),
        }
    )
    ordered = table.sort_values("collected_at", na_position="first", kind="stable")
    kept_positions = ordered.drop_duplicates("host_key", keep="last").index.sort_values()
    return tuple(results[position] for position in kept_positions)


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
            "status": pd.Categorical([result.status._value_ for result in results], categories=HOST_STATUSES),
            "error": [result.error for result in results],
            "collected_at": collection_times(results),
            "has_state": np.array([state is not None for state in states], dtype=bool),
            "kms_machine": [None if state is None else state.kms_machine for state in states],
            "own_names": own_names,
        }
    )


# ``_value_`` is the plain attribute behind ``Enum.value``, which is a much slower descriptor.
_RECORD_FIELDS = operator.attrgetter(
    "name", "channel._value_", "partial_product_key", "license_status", "grace_minutes", "kms_machine"
)


def _record_table(results: tuple[HostResult, ...]) -> pd.DataFrame:
    positions: list[int] = []
    records = []
    for position, result in enumerate(results):
        if result.state is None:
            continue
        keyed = [record for record in result.state.records if record.partial_product_key]
        positions += [position] * len(keyed)
        records += keyed

    count = len(records)
    if count == 0:
        names, channels, partial_keys, statuses, grace, kms = [], [], [], [], [], []
    else:
        names, channels, partial_keys, statuses, grace, kms = zip(*map(_RECORD_FIELDS, records))
    host = np.fromiter(positions, dtype=np.int64, count=count)

    return pd.DataFrame(
        {
            "host": host,
            "name": pd.Categorical(names),
            "channel": pd.Categorical(channels, categories=CHANNELS),
            "partial_product_key": _upper_categorical(partial_keys),
            "status": np.fromiter(
                (NO_STATUS if status is None else status for status in statuses), dtype=np.int8, count=count
            ),
            "grace_minutes": np.fromiter(
                (np.nan if minutes is None else minutes for minutes in grace), dtype=np.float64, count=count
            ),
            "kms_machine": _kms_machines(kms, host, results),
        }
    )


def _upper_categorical(values: Sequence[str]) -> pd.Categorical:
    """Return the values as an upper-case, trimmed categorical; each distinct value is converted once."""
    codes, uniques = pd.factorize(np.array(values, dtype=object))
    upper = np.array([str(value).strip().upper() for value in uniques], dtype=object)
    return pd.Categorical(upper[codes]) if len(codes) else pd.Categorical([])


def _kms_machines(own_values: Sequence[str | None], host: np.ndarray, results: tuple[HostResult, ...]) -> pd.Categorical:
    """Return each record's KMS host, falling back to the machine-wide value of its host."""
    own = pd.Series(own_values, dtype=object)
    if own.empty:
        return pd.Categorical([])

    machine_wide = np.array([None if result.state is None else result.state.kms_machine for result in results], dtype=object)
    fallback = pd.Series(machine_wide[host], dtype=object)
    return pd.Categorical(own.where(own.notna() & (own != ""), fallback))
