"""Findings about hosts: products not activated, grace ending, unapproved KMS hosts, failed, stale or keyless hosts.

Each rule selects its rows with vectorised pandas masks; Python only runs over
the selected rows to write the messages.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
from datetime import datetime

import numpy as np
import pandas as pd

from makaudit.analysis.frames import FleetFrames
from makaudit.analysis.kms import ApprovedKmsHosts, KmsAddress, parse_kms_address
from makaudit.config import AuditConfig
from makaudit.inventory import Inventory
from makaudit.model import Channel, Finding, HostStatus, LicenseStatus, Severity

logger = logging.getLogger(__name__)

MINUTES_PER_DAY = 24 * 60
MAK = Channel.MAK.value
KMS_CLIENT = Channel.KMS_CLIENT.value
NOT_ACTIVATED_STATUSES = [int(status) for status in LicenseStatus if status is not LicenseStatus.LICENSED]
GRACE_STATUSES = [int(status) for status in LicenseStatus if status.is_grace]

_ACTIVATE = {
    MAK: "Activate it with slmgr /ato (ospp.vbs /act for Office); if that fails, look up the error code.",
    KMS_CLIENT: (
        "Check that the host reaches an approved KMS host on TCP port 1688, then run slmgr /ato "
        "(ospp.vbs /act for Office)."
    ),
}
_ACTIVATE_OTHER = (
    "Install a valid volume key (a MAK or the KMS client setup key) and activate it with slmgr /ato "
    "(ospp.vbs /act for Office)."
)
_UNREACHABLE_REMEDIATION = {
    HostStatus.UNREACHABLE.value: (
        "Check that the host is on, that its name resolves, and that the WinRM listener and firewall allow "
        "the connection (port 5985, or 5986 for HTTPS)."
    ),
    HostStatus.AUTH_FAILED.value: (
        "Check the user name and password and the authentication method (--auth); the account needs "
        "WinRM access on the host."
    ),
    HostStatus.TIMEOUT.value: "Retry with a longer --timeout, or check the load and the WinRM service of the host.",
}
_UNREACHABLE_OTHER = "Read the log of the scan for the error, fix its cause on the host, and scan it again."


def host_findings(frames: FleetFrames, inventory: Inventory | None, config: AuditConfig, now: datetime) -> list[Finding]:
    """Return every host finding of the fleet; ``now`` must be timezone-aware (UTC)."""
    key_ids = {} if inventory is None else {key.partial_product_key: key.key_id for key in inventory.keys}
    return [
        *_not_activated(frames, key_ids),
        *_grace_ending(frames, config, key_ids, now),
        *_unapproved_kms(frames, config),
        *_unreachable(frames),
        *_stale(frames, config, now),
        *_no_product_key(frames),
    ]


def _minutes_left(frames: FleetFrames, now: datetime) -> pd.Series:
    """Return each record's grace minutes less the minutes since its host was collected (never below 0)."""
    collected = frames.hosts["collected_at"]
    age_minutes = ((pd.Timestamp(now) - collected).dt.total_seconds() / 60).clip(lower=0).fillna(0).to_numpy()
    records = frames.records
    left = records["grace_minutes"].to_numpy(dtype=float) - age_minutes[records["host"].to_numpy()]
    return pd.Series(np.maximum(left, 0).round(), index=records.index).where(records["grace_minutes"].notna())


def _selected(frames: FleetFrames, mask: pd.Series, subset: list[str]) -> pd.DataFrame:
    """Return the records under ``mask``, one per (host, subset) combination, with the host label joined.

    Categorical columns become plain object columns, because iterating a
    categorical row by row is many times slower.
    """
    rows = frames.records.loc[mask].drop_duplicates(["host", *subset])
    columns = {name: _plain(rows[name]) for name in rows.columns}
    columns["label"] = frames.hosts["label"].to_numpy()[rows["host"].to_numpy()]
    return pd.DataFrame(
        {name: pd.Series(values, index=rows.index, dtype=values.dtype) for name, values in columns.items()}
    )


def _columns(rows: pd.DataFrame, names: tuple[str, ...]) -> zip:
    """Return the rows as tuples of plain Python values, much faster to loop over than ``itertuples``."""
    return zip(*(rows[name].tolist() for name in names))


def _plain(column: pd.Series) -> np.ndarray:
    """Return the column as a NumPy array, categorical values as Python objects."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.astype(object).to_numpy()
    return column.to_numpy()


_STATUS_LABELS = {int(status): status.label for status in LicenseStatus}


def _status_label(code: int) -> str:
    return _STATUS_LABELS[int(code)]


def _not_activated(frames: FleetFrames, key_ids: dict[str, str]) -> list[Finding]:
    records = frames.records
    rows = _selected(frames, records["status"].isin(NOT_ACTIVATED_STATUSES), ["name", "partial_product_key"])

    return [
        Finding(
            code="HOST_NOT_ACTIVATED",
            severity=Severity.HIGH,
            message=(
                f"{name} on {label} is not activated (license status {_STATUS_LABELS[status]}, "
                f"key ending in {partial})."
            ),
            remediation=_ACTIVATE.get(channel, _ACTIVATE_OTHER),
            host=label,
            key_id=key_ids.get(partial) if channel == MAK else None,
            partial_product_key=partial,
        )
        for label, name, partial, status, channel in _columns(
            rows, ("label", "name", "partial_product_key", "status", "channel")
        )
    ]


def _grace_ending(frames: FleetFrames, config: AuditConfig, key_ids: dict[str, str], now: datetime) -> list[Finding]:
    """Flag grace periods and KMS activations that end in less than ``grace_warning_days``.

    A product in a grace state (high) becomes Notification when its grace ends. A
    Licensed KMS client (medium) whose activation expires that soon has not
    renewed with its KMS host for months, and falls back to grace when it expires.
    The time left counts from ``now``: the minutes the endpoint reported, less the
    age of the data.
    """
    records = frames.records.copy()
    records["grace_minutes"] = _minutes_left(frames, now)
    frames = dataclasses.replace(frames, records=records)
    limit = config.grace_warning_days * MINUTES_PER_DAY
    soon = records["grace_minutes"] < limit

    in_grace = records["status"].isin(GRACE_STATUSES) & soon
    kms_expiring = (
        (records["status"] == int(LicenseStatus.LICENSED))
        & (records["channel"] == KMS_CLIENT)
        & (records["grace_minutes"] > 0)
        & soon
    )

    grace_columns = ("label", "name", "partial_product_key", "status", "channel", "grace_minutes")
    findings = [
        Finding(
            code="HOST_GRACE_ENDING",
            severity=Severity.HIGH,
            message=(
                f"{name} on {label} is in {_status_label(status)} with {_days(minutes)} "
                "left; it enters notification mode when the grace period ends."
            ),
            remediation=_ACTIVATE.get(channel, _ACTIVATE_OTHER),
            host=label,
            key_id=key_ids.get(partial) if channel == MAK else None,
            partial_product_key=partial,
        )
        for label, name, partial, status, channel, minutes in _columns(
            _selected(frames, in_grace, ["name", "partial_product_key"]), grace_columns
        )
    ]
    findings += [
        Finding(
            code="HOST_GRACE_ENDING",
            severity=Severity.MEDIUM,
            message=(
                f"The KMS activation of {name} on {label} expires in {_days(minutes)} "
                "because the client has not renewed it with its KMS host."
            ),
            remediation=_ACTIVATE[KMS_CLIENT],
            host=label,
            partial_product_key=partial,
        )
        for label, name, partial, _status, _channel, minutes in _columns(
            _selected(frames, kms_expiring, ["name", "partial_product_key"]), grace_columns
        )
    ]
    return findings


def _days(minutes: float) -> str:
    days = minutes / MINUTES_PER_DAY
    return f"{days:.1f} days ({int(minutes)} minutes)"


def _unapproved_kms(frames: FleetFrames, config: AuditConfig) -> list[Finding]:
    """Flag KMS clients of a host outside ``approved_kms_hosts``.

    A KMS host on loopback, or on the client itself while the client has no KMS
    host key, is how KMS emulators appear. It is critical and flagged even when
    no approved list is configured. Other hosts are flagged (high) only when the
    approved list is not empty.
    """
    records = frames.records
    clients = (records["channel"] == KMS_CLIENT) & records["kms_machine"].notna()
    machines = records.loc[clients, "kms_machine"].astype(str).unique()
    if len(machines) == 0:
        return []

    approved = ApprovedKmsHosts(config.approved_kms_hosts)
    addresses = {text: _parse_client_address(text) for text in machines}
    suspect = [text for text, address in addresses.items() if address is not None and not approved.approves(address)]
    rows = _selected(frames, clients & records["kms_machine"].isin(suspect), ["name", "kms_machine"])

    loopback = {text: addresses[text].is_loopback for text in suspect}
    own_names = frames.hosts["own_names"].to_numpy()[rows["host"].to_numpy()]
    runs_kms_host = _kms_host_machines(frames)[rows["host"].to_numpy()]
    findings = []
    for row, names, is_kms_host in zip(rows.itertuples(index=False), own_names, runs_kms_host):
        address = addresses[row.kms_machine]
        if loopback[row.kms_machine] or (not is_kms_host and _is_own_name(address.host, names)):
            findings.append(_emulated_kms(row, "on the host itself"))
        elif approved:
            findings.append(_unapproved(row))
    return findings


def _kms_host_machines(frames: FleetFrames) -> np.ndarray:
    """Return, per host position, whether the host has a KMS host key (CSVLK) installed."""
    records = frames.records
    machines = np.zeros(len(frames.hosts), dtype=bool)
    machines[records.loc[records["channel"] == Channel.KMS_HOST.value, "host"].unique()] = True
    return machines


def _is_own_name(kms_host: str, own_names: str) -> bool:
    """Tell whether ``kms_host`` names the client itself, by full name or by the first label of a DNS name."""
    names = own_names.split()
    if kms_host in names:
        return True
    try:
        ipaddress.ip_address(kms_host)
        return False
    except ValueError:
        return kms_host.split(".")[0] in {name.split(".")[0] for name in names}


def _parse_client_address(text: str) -> KmsAddress | None:
    try:
        return parse_kms_address(text)
    except ValueError as error:
        logger.warning("ignoring KMS host %r reported by a client: %s", text, error)
        return None


def _emulated_kms(row, where: str) -> Finding:
    return Finding(
        code="KMS_UNAPPROVED_HOST",
        severity=Severity.CRITICAL,
        message=(
            f"{row.name} on {row.label} is a KMS client of {row.kms_machine}, a KMS host {where}, "
            "which is how KMS emulators appear."
        ),
        remediation=(
            "Look for KMS emulation software on the host and remove it, then point the client to an approved "
            "KMS host (slmgr /skms host:port, then slmgr /ato)."
        ),
        host=row.label,
        partial_product_key=row.partial_product_key,
    )


def _unapproved(row) -> Finding:
    return Finding(
        code="KMS_UNAPPROVED_HOST",
        severity=Severity.HIGH,
        message=f"{row.name} on {row.label} uses KMS host {row.kms_machine}, which is not in the approved list.",
        remediation=(
            "Point the client to an approved KMS host (slmgr /skms host:port, then slmgr /ato), or add this host "
            "to approved_hosts in the [kms] section of the configuration if it is legitimate."
        ),
        host=row.label,
        partial_product_key=row.partial_product_key,
    )


def _unreachable(frames: FleetFrames) -> list[Finding]:
    hosts = frames.hosts
    failed = hosts[hosts["status"] != HostStatus.OK.value]
    findings = []
    for row in failed.itertuples(index=False):
        reason = (row.error or "no reason was recorded").rstrip(". ")
        findings.append(
            Finding(
                code="HOST_UNREACHABLE",
                severity=Severity.MEDIUM,
                message=f"Collecting {row.target} failed ({row.status}): {reason}.",
                remediation=_UNREACHABLE_REMEDIATION.get(row.status, _UNREACHABLE_OTHER),
                host=row.label,
            )
        )
    return findings


def _stale(frames: FleetFrames, config: AuditConfig, now: datetime) -> list[Finding]:
    hosts = frames.hosts
    moment = pd.Timestamp(now)
    stale = hosts[hosts["collected_at"].notna() & (hosts["collected_at"] < moment - pd.Timedelta(days=config.stale_days))]
    ages = ((moment - stale["collected_at"]) // pd.Timedelta(days=1)).tolist()
    dates = stale["collected_at"].dt.strftime("%Y-%m-%d").tolist()

    return [
        Finding(
            code="HOST_STALE",
            severity=Severity.LOW,
            message=(
                f"The latest state of {label} was collected on {day}, {age} days ago, "
                f"which is more than the {config.stale_days} days allowed."
            ),
            remediation="Scan the host again; if it was decommissioned, remove it from the targets.",
            host=label,
        )
        for label, day, age in zip(stale["label"].tolist(), dates, ages)
    ]


def _no_product_key(frames: FleetFrames) -> list[Finding]:
    hosts = frames.hosts
    keyed = np.zeros(len(hosts), dtype=bool)
    keyed[frames.records["host"].unique()] = True
    keyless = hosts[hosts["has_state"].to_numpy() & (hosts["status"] == HostStatus.OK.value).to_numpy() & ~keyed]

    return [
        Finding(
            code="HOST_NO_PRODUCT_KEY",
            severity=Severity.MEDIUM,
            message=f"{label} reports no Windows or Office product with an installed product key.",
            remediation=(
                "Install the volume key the host should use (a MAK or the KMS client setup key) and activate it; "
                "if the data came from an incomplete export, collect the host again."
            ),
            host=label,
        )
        for label in keyless["label"]
    ]
