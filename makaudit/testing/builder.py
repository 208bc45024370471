"""Build a reproducible test fleet: machine descriptions, the MAK inventory and the ground truth.

``build_fleet(hosts, seed)`` plans every host (edition, channel, license state,
KMS settings, UI language) from one seeded random stream, renders each host's
endpoint document and slmgr text, sizes the MAK allotments from the counted
activations so that every inventory category occurs, and records what a
correct scan must report. The same (hosts, seed, now) always gives the same
bytes from ``write_fleet_files``.
"""

from __future__ import annotations

import csv
import enum
import io
import ipaddress
import json
import logging
import random
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

from makaudit.model import Channel, HostStatus, LicenseStatus
from makaudit.testing.builder_catalog import APPROVED_KMS_HOST, PUBLISHED_KEY_LAST_FIVES
from makaudit.testing.builder_documents import endpoint_document
from makaudit.testing.builder_hosts import HostPlan, HostPlanner, ProductState
from makaudit.testing.builder_keys import INVENTORY_COLUMNS, KeyCount, KeyPool, create_key_pool, inventory_rows
from makaudit.testing.builder_slmgr import render_dlv_all
from makaudit.testing.builder_truth import (
    GroundTruth,
    HostTruth,
    KeyTruth,
    ProductTruth,
    host_findings,
    key_categories,
)
from makaudit.testing.endpoint import build_collection_document
from makaudit.testing.machine import HostFaults, MachineDescription
from makaudit.gcpause import cyclic_gc_paused

logger = logging.getLogger(__name__)

LOOPBACK_NETWORK = ipaddress.IPv4Network("127.0.0.0/8")
FAULT_MODES = ("none", "mixed")
MIXED_FAULT_SHARE = 0.1
SLOW_HOST_DELAY_SECONDS = 0.5
"""Delay before every HTTP response of a slow host: noticeable, yet far below any usual client timeout."""


class FaultKind(enum.StrEnum):
    """A fault the ``mixed`` mode injects, with the host status a scan must report for it."""

    REFUSED = "refused"
    SLOW = "slow"
    HANG = "hang"
    AUTH_FAILS = "auth_fails"
    QUOTA = "quota"
    GARBAGE = "garbage"
    WMI_BROKEN = "wmi_broken"
    PROGRESS_STDERR = "progress_stderr"

    @property
    def expected_status(self) -> HostStatus:
        return _EXPECTED_STATUS[self]

    def host_faults(self) -> HostFaults:
        """Return the ``HostFaults`` that inject this fault."""
        return {
            FaultKind.REFUSED: HostFaults(refuse_connection=True),
            FaultKind.SLOW: HostFaults(delay_seconds=SLOW_HOST_DELAY_SECONDS),
            FaultKind.HANG: HostFaults(hang=True),
            FaultKind.AUTH_FAILS: HostFaults(auth_always_fails=True),
            FaultKind.QUOTA: HostFaults(quota_limit=True),
            FaultKind.GARBAGE: HostFaults(garbage_output=True),
            FaultKind.WMI_BROKEN: HostFaults(wmi_broken=True),
            FaultKind.PROGRESS_STDERR: HostFaults(progress_stderr=True),
        }[self]


_EXPECTED_STATUS = {
    FaultKind.REFUSED: HostStatus.UNREACHABLE,
    FaultKind.SLOW: HostStatus.OK,
    FaultKind.HANG: HostStatus.TIMEOUT,
    FaultKind.AUTH_FAILS: HostStatus.AUTH_FAILED,
    FaultKind.QUOTA: HostStatus.ERROR,
    FaultKind.GARBAGE: HostStatus.ERROR,
    FaultKind.WMI_BROKEN: HostStatus.OK,
    FaultKind.PROGRESS_STDERR: HostStatus.OK,
}


@dataclass(frozen=True)
class BuiltFleet:
    """A built fleet: what the emulated hosts serve, the inventory rows and the expected results."""

    machines: list[MachineDescription]
    inventory_rows: list[dict[str, str]]
    """Rows of inventory.csv, with the columns of ``INVENTORY_COLUMNS`` as strings."""
    ground_truth: GroundTruth
    faults: dict[str, FaultKind]
    """Injected fault per host name; hosts without a fault are absent."""


def build_fleet(
    hosts: int,
    seed: int = 1,
    base_address: str = "127.0.20.1",
    port: int = 5985,
    faults: str = "none",
    now: datetime | None = None,
) -> BuiltFleet:
    """Build a fleet of ``hosts`` emulated hosts on consecutive loopback addresses from ``base_address``.

    ``faults`` is ``none`` (every host healthy) or ``mixed`` (about 10 % of the
    hosts, chosen from the seed, inject one fault each). ``now`` is the hosts'
    clock and defaults to the current UTC time. Raises ValueError for a host
    count below 1, an address outside 127.0.0.0/8, a port outside 1 to 65535
    or an unknown fault mode.
    """
    _check_arguments(hosts, seed, port, faults)
    addresses = loopback_addresses(base_address, hosts)
    moment = _utc(now)

    with cyclic_gc_paused():
        return _build(hosts, seed, addresses, port, faults, moment)


def _build(hosts: int, seed: int, addresses: list[str], port: int, faults: str, moment: datetime) -> BuiltFleet:
    today = moment.date()

    rng = random.Random(seed)
    reserved = set(PUBLISHED_KEY_LAST_FIVES)
    pool = create_key_pool(rng, frozenset(reserved))
    reserved.update(key.partial_product_key for key in pool.keys)

    planner = HostPlanner(rng, pool, moment, reserved)
    plans = [planner.plan(index) for index in range(1, hosts + 1)]

    fault_by_index = assign_faults(plans, faults, seed)
    machines = [_machine(plan, address, port, fault_by_index.get(plan.index), moment) for plan, address in zip(plans, addresses)]

    counts, activated_hosts, installed_hosts = _count_keys(plans, fault_by_index)
    rows = inventory_rows(pool, counts, random.Random(f"{seed}:inventory"), today)
    truth = _ground_truth(seed, moment, plans, machines, fault_by_index, pool, rows, activated_hosts, installed_hosts)

    logger.info("built a fleet of %d hosts from seed %d with %d faulty hosts", hosts, seed, len(fault_by_index))
    return BuiltFleet(
        machines=machines,
        inventory_rows=rows,
        ground_truth=truth,
        faults={plans[index - 1].name: fault_by_index[index] for index in sorted(fault_by_index)},
    )


def _check_arguments(hosts: int, seed: int, port: int, faults: str) -> None:
    if isinstance(hosts, bool) or not isinstance(hosts, int) or hosts < 1:
        raise ValueError(f"hosts must be an integer of at least 1, got {hosts!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"port must be an integer from 1 to 65535, got {port!r}")
    if faults not in FAULT_MODES:
        raise ValueError(f"faults must be one of {', '.join(FAULT_MODES)}, got {faults!r}")


def _utc(now: datetime | None) -> datetime:
    if now is None:
        now = datetime.now(timezone.utc)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    return now.astimezone(timezone.utc).replace(microsecond=0)


def loopback_addresses(base_address: str, count: int) -> list[str]:
    """Return ``count`` consecutive IPv4 loopback addresses from ``base_address``, skipping .0 and .255.

    Raises ValueError when ``base_address`` is not an IPv4 address inside
    127.0.0.0/8 or when the addresses would run past 127.255.255.254.
    """
    try:
        address = ipaddress.IPv4Address(base_address)
    except ValueError as error:
        raise ValueError(f"base address {base_address!r} is not an IPv4 address; use one in 127.0.0.0/8") from error
    if address not in LOOPBACK_NETWORK:
        raise ValueError(
            f"base address {base_address} is outside the loopback network 127.0.0.0/8; "
            "the test fleet only listens on loopback, use an address such as 127.0.20.1"
        )

    last = int(LOOPBACK_NETWORK.broadcast_address) - 1
    addresses: list[str] = []
    value = int(address)
    while len(addresses) < count:
        if value > last:
            raise ValueError(f"{count} hosts from {base_address} do not fit in 127.0.0.0/8; use a lower base address")
        if value & 0xFF not in (0, 255):
            addresses.append(str(ipaddress.IPv4Address(value)))
        value += 1
    return addresses


def assign_faults(plans: list[HostPlan], mode: str, seed: int) -> dict[int, FaultKind]:
    """Return the fault per host index: none for ``none``, about 10 % of the hosts for ``mixed``.

    Faults come from their own random stream, so the hosts' data is the same
    in both modes. Every kind appears once there are at least eight faulty
    hosts. WMI failures go only to hosts without a MAK, which keeps key counts
    independent of how a collector falls back to slmgr text.
    """
    if mode == "none":
        return {}

    rng = random.Random(f"{seed}:faults")
    count = max(1, round(len(plans) * MIXED_FAULT_SHARE))
    kinds = [list(FaultKind)[position % len(FaultKind)] for position in range(count)]
    wmi_slots = kinds.count(FaultKind.WMI_BROKEN)

    without_mak = [plan.index for plan in plans if not any(product.mak_key for product in plan.products)]
    wmi_hosts = sorted(rng.sample(without_mak, min(wmi_slots, len(without_mak))))
    remaining = sorted(set(plan.index for plan in plans) - set(wmi_hosts))
    other_kinds = [kind for kind in kinds if kind is not FaultKind.WMI_BROKEN]
    # When every host has a MAK installed, the WMI slots turn into other faults so the share stays 10 %.
    other_kinds += [FaultKind.PROGRESS_STDERR] * (wmi_slots - len(wmi_hosts))
    other_hosts = sorted(rng.sample(remaining, min(len(other_kinds), len(remaining))))

    assignment = {index: FaultKind.WMI_BROKEN for index in wmi_hosts}
    assignment.update(zip(other_hosts, other_kinds))
    return assignment


def _machine(plan: HostPlan, address: str, port: int, fault: FaultKind | None, moment: datetime) -> MachineDescription:
    slmgr_text = render_dlv_all(plan)
    return MachineDescription(
        name=plan.name,
        document=endpoint_document(plan, moment, slmgr_text),
        slmgr_text=slmgr_text,
        address=address,
        port=port,
        faults=fault.host_faults() if fault else HostFaults(),
    )


def _is_collected(index: int, fault_by_index: dict[int, FaultKind]) -> bool:
    fault = fault_by_index.get(index)
    return fault is None or fault.expected_status is HostStatus.OK


def _count_keys(
    plans: list[HostPlan], fault_by_index: dict[int, FaultKind]
) -> tuple[dict[str, KeyCount], dict[str, list[str]], dict[str, list[str]]]:
    """Count, per MAK partial key, the distinct collected hosts that are activated with it or only hold it."""
    activated: dict[str, list[str]] = {}
    installed: dict[str, list[str]] = {}

    for plan in plans:
        if not _is_collected(plan.index, fault_by_index):
            continue
        for product in plan.products:
            if product.sku.channel is not Channel.MAK:
                continue
            bucket = activated if product.status is LicenseStatus.LICENSED else installed
            hosts = bucket.setdefault(product.partial_product_key, [])
            if not hosts or hosts[-1] != plan.name:
                hosts.append(plan.name)

    # A host activated with a key is not also counted as holding it unactivated.
    for partial, hosts in installed.items():
        activated_set = set(activated.get(partial, ()))
        installed[partial] = [host for host in hosts if host not in activated_set]

    partials = set(activated) | set(installed)
    counts = {
        partial: KeyCount(len(activated.get(partial, ())), len(installed.get(partial, ()))) for partial in partials
    }
    return counts, activated, installed


def _ground_truth(
    seed: int,
    moment: datetime,
    plans: list[HostPlan],
    machines: list[MachineDescription],
    fault_by_index: dict[int, FaultKind],
    pool: KeyPool,
    rows: list[dict[str, str]],
    activated_hosts: dict[str, list[str]],
    installed_hosts: dict[str, list[str]],
) -> GroundTruth:
    approved = (APPROVED_KMS_HOST,)
    key_ids = {key.partial_product_key: key.key_id for key in pool.keys}

    hosts: list[HostTruth] = []
    for plan, machine in zip(plans, machines):
        fault = fault_by_index.get(plan.index)
        status = fault.expected_status if fault else HostStatus.OK
        products = tuple(_product_truth(plan, product, key_ids) for product in plan.products)
        hosts.append(
            HostTruth(
                target=machine.target,
                name=plan.name,
                uuid=plan.uuid,
                ui_culture=plan.culture.name,
                status=status,
                reason=fault.value if fault else "healthy",
                products=products,
                findings=host_findings(status, products, approved),
            )
        )

    keys = [_key_truth(row, activated_hosts, installed_hosts, moment.date()) for row in rows]
    for key in pool.keys:
        if key.key_id is None:
            keys.append(_unknown_key_truth(key.partial_product_key, key.group.product, activated_hosts, installed_hosts, moment.date()))

    return GroundTruth(seed=seed, generated_at=moment, approved_kms_hosts=approved, hosts=tuple(hosts), keys=tuple(keys))


def _product_truth(plan: HostPlan, product: ProductState, key_ids: dict[str, str | None]) -> ProductTruth:
    sku = product.sku
    return ProductTruth(
        application=sku.application.value,
        name=sku.name,
        description=sku.description,
        channel=sku.channel.value,
        partial_product_key=product.partial_product_key,
        license_status=product.status.label,
        license_status_code=int(product.status),
        license_status_reason=f"0x{product.reason:08X}",
        grace_minutes=product.grace_minutes,
        kms_machine=plan.kms_machine_of(product),
        key_id=key_ids.get(product.partial_product_key) if sku.channel is Channel.MAK else None,
    )


def _key_truth(
    row: dict[str, str],
    activated_hosts: dict[str, list[str]],
    installed_hosts: dict[str, list[str]],
    today: date,
) -> KeyTruth:
    partial = row["partial_product_key"]
    activated = tuple(activated_hosts.get(partial, ()))
    installed = tuple(installed_hosts.get(partial, ()))
    allotment = int(row["allotment"])
    rotate_by = date.fromisoformat(row["rotate_by"]) if row["rotate_by"] else None
    categories, findings = key_categories(
        row["key_id"], allotment, row["status"], rotate_by, len(activated), len(installed), today
    )
    return KeyTruth(
        key_id=row["key_id"],
        partial_product_key=partial,
        product=row["product"],
        allotment=allotment,
        key_status=row["status"],
        rotate_by=rotate_by,
        activated=len(activated),
        installed_not_activated=len(installed),
        activated_hosts=activated,
        installed_hosts=installed,
        categories=categories,
        findings=findings,
    )


def _unknown_key_truth(
    partial: str,
    product: str,
    activated_hosts: dict[str, list[str]],
    installed_hosts: dict[str, list[str]],
    today: date,
) -> KeyTruth:
    activated = tuple(activated_hosts.get(partial, ()))
    installed = tuple(installed_hosts.get(partial, ()))
    categories, findings = key_categories(None, None, None, None, len(activated), len(installed), today)
    return KeyTruth(
        key_id=None,
        partial_product_key=partial,
        product=product,
        allotment=None,
        key_status=None,
        rotate_by=None,
        activated=len(activated),
        installed_not_activated=len(installed),
        activated_hosts=activated,
        installed_hosts=installed,
        categories=categories,
        findings=findings,
    )


def write_fleet_files(fleet: BuiltFleet, folder: Path) -> None:
    """Write inventory.csv, ground-truth.json, targets.txt and documents/<name>.json into ``folder``.

    ``documents`` contains the endpoint document of every host a scan can
    collect (expected status ``ok``), exactly as its collection script prints
    it, so that ``makaudit import`` of the folder gives the ground truth's counts.
    """
    folder = Path(folder)
    documents = folder / "documents"
    documents.mkdir(parents=True, exist_ok=True)

    (folder / "inventory.csv").write_bytes(inventory_csv(fleet.inventory_rows).encode("utf-8"))
    (folder / "targets.txt").write_bytes("".join(machine.target + "\n" for machine in fleet.machines).encode("utf-8"))
    truth_text = json.dumps(fleet.ground_truth.to_dict(), ensure_ascii=False, indent=2) + "\n"
    (folder / "ground-truth.json").write_bytes(truth_text.encode("utf-8"))

    statuses = {host.name: host.status for host in fleet.ground_truth.hosts}
    for machine in fleet.machines:
        if statuses[machine.name] is not HostStatus.OK:
            continue
        document = build_collection_document(machine, "") if machine.faults.wmi_broken else machine.document
        text = json.dumps(document, ensure_ascii=False, indent=2)
        (documents / f"{machine.name}.json").write_bytes(text.encode("utf-8"))

    logger.info("wrote the fleet files of %d hosts to %s", len(fleet.machines), folder)


def inventory_csv(rows: list[dict[str, str]]) -> str:
    """Return the inventory as CSV text with a header row and CRLF line ends."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=INVENTORY_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
