"""The fleet as pandas tables: one row per host (latest result only) and one row per keyed license record.

This is the only place that walks the HostResult objects; every rule after it
works on the tables with vectorised pandas operations. The walk reads each
attribute once per object with plain list comprehensions, because on a million
records the attribute reads, not pandas, dominate the analysis time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Sequence

import numpy as np
import pandas as pd

from makaudit.model import Channel, EndpointState, HostResult, HostStatus, computer_name_key, machine_uuid_key

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
    The text columns have object dtype and hold None where a value is missing.

    ``records`` has one row per license record with a partial product key:
    ``host`` (position in ``results``), ``name``, ``channel``, ``partial_product_key``
    (upper case), ``status`` (int8 LicenseStatus, -1 when unknown),
    ``grace_minutes`` (float, NaN when unknown) and ``kms_machine`` (the record's,
    else the machine-wide value).
    """

    results: tuple[HostResult, ...]
    hosts: pd.DataFrame
    records: pd.DataFrame


@dataclass(frozen=True)
class HostColumns:
    """The attributes of each result that the host table and the latest-result rule need, read in one walk."""

    results: tuple[HostResult, ...]
    states: list[EndpointState | None]
    targets: list[str]
    names: list[str | None]
    dns_host_names: list[str | None]
    uuids: list[str | None]
    collected_seconds: np.ndarray
    """POSIX seconds of ``collected_at`` (float64, NaN when unknown)."""

    @classmethod
    def read(cls, results: Sequence[HostResult]) -> HostColumns:
        results = tuple(results)
        states = [result.state for result in results]
        computers = [None if state is None else state.computer for state in states]
        return cls(
            results=results,
            states=states,
            targets=[result.target for result in results],
            names=[None if computer is None else computer.name for computer in computers],
            dns_host_names=[None if computer is None else computer.dns_host_name for computer in computers],
            uuids=[None if computer is None else computer.uuid for computer in computers],
            collected_seconds=_posix_seconds(states),
        )

    def take(self, positions: Sequence[int]) -> HostColumns:
        """Return the columns of the results at ``positions``, in that order."""
        return HostColumns(
            results=tuple(self.results[position] for position in positions),
            states=[self.states[position] for position in positions],
            targets=[self.targets[position] for position in positions],
            names=[self.names[position] for position in positions],
            dns_host_names=[self.dns_host_names[position] for position in positions],
            uuids=[self.uuids[position] for position in positions],
            collected_seconds=self.collected_seconds[np.asarray(positions, dtype=np.int64)],
        )

    def host_keys(self) -> list[str]:
        """Return HostResult.host_key of every result, without the per-object property calls.

        Same rule as the model: ``uuid:`` and the upper-case machine UUID (unless a firmware placeholder),
        else ``name:`` and the upper-case computer name, else ``target:`` and the lower-case target.
        """
        return [_host_key(uuid, name, target) for uuid, name, target in zip(self.uuids, self.names, self.targets)]


def _host_key(uuid: str | None, name: str | None, target: str) -> str:
    uuid_key = machine_uuid_key(uuid)
    if uuid_key:
        return uuid_key
    name_key = computer_name_key(name)
    if name_key:
        return name_key
    return "target:" + target.lower()


def to_utc(moment: datetime | None) -> datetime | None:
    """Return ``moment`` in UTC; a naive datetime is taken as UTC, as the result document does."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _posix_seconds(states: list[EndpointState | None]) -> np.ndarray:
    """Return each state's collection time in POSIX seconds, taking a naive time as UTC.

    ``datetime.timestamp`` of an aware value does not depend on its zone, so no
    conversion to UTC is needed first.
    """
    moments = [None if state is None else state.collected_at for state in states]
    return np.array(
        [
            math.nan if moment is None
            else moment.timestamp() if moment.tzinfo is not None
            else moment.replace(tzinfo=timezone.utc).timestamp()
            for moment in moments
        ],
        dtype=np.float64,
    )


def _timestamps(seconds: np.ndarray) -> pd.Series:
    """Return POSIX seconds as UTC timestamps rounded to the microsecond (NaT for NaN).

    Going through POSIX seconds is several times faster than letting pandas
    convert a list of timezone-aware datetime objects.
    """
    return pd.Series(pd.to_datetime(seconds, unit="s", utc=True)).dt.round("us")


def collection_times(results: Sequence[HostResult]) -> pd.Series:
    """Return each result's collection time as UTC timestamps (NaT when unknown)."""
    return _timestamps(_posix_seconds([result.state for result in results]))


def host_keys(results: Sequence[HostResult]) -> pd.Series:
    """Return HostResult.host_key of every result as an object Series."""
    return pd.Series(HostColumns.read(results).host_keys(), dtype=object)


def latest_results(results: Sequence[HostResult]) -> tuple[HostResult, ...]:
    """Keep one result per host (HostResult.host_key), the one collected last, in input order.

    A result without a collection time (a failed host) loses against one with a
    time. Between equal times the later entry of ``results`` wins.
    """
    columns = HostColumns.read(results)
    return columns.take(_latest_positions(columns)).results


def _latest_positions(columns: HostColumns) -> np.ndarray:
    """Return the positions of the latest result of each host, in input order."""
    keys = columns.host_keys()
    if len(set(keys)) == len(keys):
        return np.arange(len(keys), dtype=np.int64)

    table = pd.DataFrame({"host_key": pd.Series(keys, dtype=object), "collected_at": columns.collected_seconds})
    ordered = table.sort_values("collected_at", na_position="first", kind="stable")
    return ordered.drop_duplicates("host_key", keep="last").index.sort_values().to_numpy()


def build_frames(results: Sequence[HostResult]) -> FleetFrames:
    """Build the host and record tables from results already reduced to one per host."""
    return _frames(HostColumns.read(results))


def build_latest_frames(results: Sequence[HostResult]) -> FleetFrames:
    """Keep the latest result of each host (as ``latest_results``) and build its tables, walking the results once."""
    columns = HostColumns.read(results)
    positions = _latest_positions(columns)
    if len(positions) < len(columns.results):
        columns = columns.take(positions)
    return _frames(columns)


def _frames(columns: HostColumns) -> FleetFrames:
    machine_wide = [None if state is None else state.kms_machine for state in columns.states]
    return FleetFrames(
        results=columns.results,
        hosts=_host_table(columns, machine_wide),
        records=_record_table(columns.states, machine_wide),
    )


def _host_table(columns: HostColumns, machine_wide: list[str | None]) -> pd.DataFrame:
    results = columns.results
    return pd.DataFrame(
        {
            "label": _objects([name or target for name, target in zip(columns.names, columns.targets)]),
            "target": _objects(columns.targets),
            "status": _fixed_categorical([result.status._value_ for result in results], HOST_STATUSES),
            "error": _objects([result.error for result in results]),
            "collected_at": _timestamps(columns.collected_seconds),
            "has_state": np.array([state is not None for state in columns.states], dtype=bool),
            "kms_machine": _objects(machine_wide),
            "own_names": _objects([_own_names(*names) for names in zip(columns.names, columns.dns_host_names)]),
        }
    )


def _objects(values: list) -> np.ndarray:
    """Return ``values`` as an object array, which pandas keeps as is instead of converting to its string dtype."""
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _own_names(name: str | None, dns_host_name: str | None) -> str:
    if name and dns_host_name:
        return f"{name.lower()} {dns_host_name.lower()}"
    return (name or dns_host_name or "").lower()


def _record_table(states: list[EndpointState | None], machine_wide: list[str | None]) -> pd.DataFrame:
    record_lists = [() if state is None else state.records for state in states]
    records = [record for record_list in record_lists for record in record_list]
    host = np.repeat(np.arange(len(states), dtype=np.int64), [len(record_list) for record_list in record_lists])

    # Only records with a partial product key count. The filter is skipped when all have one, the usual case.
    partial_keys = [record.partial_product_key for record in records]
    keyed = _objects(partial_keys).astype(bool)
    if not keyed.all():
        records = [record for record, has_key in zip(records, keyed.tolist()) if has_key]
        partial_keys = [key for key, has_key in zip(partial_keys, keyed.tolist()) if has_key]
        host = host[keyed]
    if not records:
        return _empty_record_table()

    own_kms = [record.kms_machine for record in records]
    return pd.DataFrame(
        {
            "host": host,
            "name": _categorical([record.name for record in records]),
            # Channel._value_ is the plain attribute behind Enum.value, which is a much slower descriptor.
            "channel": _fixed_categorical([record.channel._value_ for record in records], CHANNELS),
            "partial_product_key": _upper_categorical(partial_keys),
            "status": np.array(
                [NO_STATUS if (status := record.license_status) is None else status for record in records], dtype=np.int8
            ),
            "grace_minutes": np.array(
                [math.nan if (minutes := record.grace_minutes) is None else minutes for record in records], dtype=np.float64
            ),
            "kms_machine": _categorical([own or machine_wide[position] for own, position in zip(own_kms, host.tolist())]),
        }
    )


def _empty_record_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "host": np.array([], dtype=np.int64),
            "name": pd.Categorical([]),
            "channel": pd.Categorical([], categories=CHANNELS),
            "partial_product_key": pd.Categorical([]),
            "status": np.array([], dtype=np.int8),
            "grace_minutes": np.array([], dtype=np.float64),
            "kms_machine": pd.Categorical([]),
        }
    )


def _categorical(values: list[str | None]) -> pd.Categorical:
    """Return the values as a categorical with sorted categories, None as missing, as ``pd.Categorical(values)`` does.

    Factorizing an object array first skips the string-dtype inference that
    ``pd.Categorical`` runs over every element of a list.
    """
    codes, uniques = pd.factorize(_objects(values), sort=True)
    return pd.Categorical.from_codes(codes, categories=uniques)


def _fixed_categorical(values: list[str], categories: list[str]) -> pd.Categorical:
    """Return enum values as a categorical with the given categories, which must contain every value."""
    codes, uniques = pd.factorize(_objects(values))
    positions = np.array([categories.index(value) for value in uniques], dtype=np.int64)
    return pd.Categorical.from_codes(positions[codes], categories=categories)


def _upper_categorical(values: list[str]) -> pd.Categorical:
    """Return the values as an upper-case, trimmed categorical; each distinct value is converted once."""
    codes, uniques = pd.factorize(_objects(values))
    upper_codes, categories = pd.factorize(_objects([str(value).strip().upper() for value in uniques]), sort=True)
    return pd.Categorical.from_codes(upper_codes[codes], categories=categories)
