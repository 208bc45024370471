"""Measure ``analyse`` on a generated fleet: time and peak memory.

Run: .venv/bin/python benchmarks/bench_analysis.py [--records N] [--hosts N]

The fleet is built first and is not timed. Each host gets the same number of
keyed license records (Windows MAK or KMS client, Office MAK, and so on), so
records / hosts should be a whole number. Peak memory is measured in a second
run under tracemalloc, which slows allocation, so the two runs report separately.
CPU time is printed next to wall time because other processes on a shared
machine stretch the wall time.

A full garbage collection runs after the fleet is built and before the timer
starts. Building millions of objects leaves one pending, and without the
explicit collection it would run at the first allocation inside ``analyse``
(about 1.3 s CPU for the default fleet) and be counted as analysis time.
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import time
import tracemalloc
from datetime import datetime, timedelta, timezone

from makaudit.analysis import analyse
from makaudit.config import AuditConfig
from makaudit.inventory import Inventory, InventoryKey, KeyStatus
from makaudit.model import (
    Application,
    Channel,
    ComputerIdentity,
    EndpointState,
    HostResult,
    HostStatus,
    LicenseRecord,
    LicenseStatus,
    RecordSource,
)

NOW = datetime(2026, 12, 4, 19, 40, tzinfo=timezone.utc)
ALPHABET = "BCDFGHJKMPQRTVWXY2346789"


def partial_key(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(5))


def build_inventory(rng: random.Random, keys: int) -> tuple[Inventory, list[str]]:
    partials: list[str] = []
    while len(partials) < keys:
        candidate = partial_key(rng)
        if candidate not in partials:
            partials.append(candidate)

    statuses = [KeyStatus.ACTIVE] * 8 + [KeyStatus.RETIRED, KeyStatus.REVOKED]
    inventory = Inventory(
        keys=tuple(
            InventoryKey(
                key_id=f"MAK-{index:03d}",
                product="Windows 11 Enterprise" if index % 2 else "Office LTSC Professional Plus 2024",
                partial_product_key=partial,
                allotment=rng.choice([500, 2000, 10000, 50000]),
                status=statuses[index % len(statuses)],
                entitlement=rng.choice([None, 20000]),
            )
            for index, partial in enumerate(partials)
        )
    )
    return inventory, partials


def build_fleet(rng: random.Random, hosts: int, records_per_host: int, partials: list[str]) -> list[HostResult]:
    unknown = [partial_key(rng) for _ in range(5)]
    statuses = [LicenseStatus.LICENSED] * 17 + [LicenseStatus.OOB_GRACE, LicenseStatus.NOTIFICATION, LicenseStatus.UNLICENSED]
    kms_hosts = ["kms01.corp.example:1688"] * 50 + ["127.0.0.1:1688", "rogue.example:1688"]
    fleet = []

    for number in range(hosts):
        records = []
        for slot in range(records_per_host):
            if slot % 2 == 0 and rng.random() < 0.6:
                channel = Channel.KMS_CLIENT
                partial = "2YT43"
                kms = rng.choice(kms_hosts)
                grace = rng.randint(1, 180 * 24 * 60)
            else:
                channel = Channel.MAK
                partial = rng.choice(partials) if rng.random() < 0.999 else rng.choice(unknown)
                kms = None
                grace = 0
            records.append(
                LicenseRecord(
                    application=Application.WINDOWS if slot == 0 else Application.OFFICE,
                    name=f"Product {slot}",
                    description=f"{channel.value} channel",
                    channel=channel,
                    partial_product_key=partial,
                    license_status=rng.choice(statuses),
                    source=RecordSource.WMI,
                    grace_minutes=grace,
                    kms_machine=kms,
                )
            )

        if rng.random() < 0.01:
            fleet.append(HostResult(target=f"10.0.{number // 250}.{number % 250}", status=HostStatus.TIMEOUT, error="timed out"))
            continue
        computer = ComputerIdentity(name=f"PC-{number:06d}", uuid=f"4C4C4544-0000-0000-0000-{number:012d}")
        collected = NOW - timedelta(days=rng.choice([0, 0, 0, 1, 20]))
        state = EndpointState(computer=computer, collected_at=collected, records=tuple(records))
        fleet.append(HostResult(target=f"pc-{number:06d}", status=HostStatus.OK, state=state))
    return fleet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="keyed license records in the fleet (default 1,000,000)")
    parser.add_argument("--hosts", type=int, default=250_000, help="hosts in the fleet (default 250,000)")
    parser.add_argument("--keys", type=int, default=40, help="MAKs in the inventory (default 40)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    inventory, partials = build_inventory(rng, args.keys)
    started = time.perf_counter()
    fleet = build_fleet(rng, args.hosts, max(1, args.records // args.hosts), partials)
    records = sum(len(host.state.records) for host in fleet if host.state)
    print(f"fleet: {len(fleet)} results, {records} records, built in {time.perf_counter() - started:.1f} s")

    config = AuditConfig(approved_kms_hosts=("kms01.corp.example",), rotation_max_age_days=1095)
    cpu_started = time.process_time()
    gc.collect()
    print(f"garbage collection left by the build (not timed below): {time.process_time() - cpu_started:.2f} s CPU")

    started, cpu_started = time.perf_counter(), time.process_time()
    result = analyse(fleet, inventory, config, NOW)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(f"analyse: {elapsed:.2f} s wall, {cpu:.2f} s CPU; {len(result.keys)} keys, {len(result.findings)} findings")

    tracemalloc.start()
    analyse(fleet, inventory, config, NOW)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"analyse peak memory (tracemalloc): {peak / 2**20:.0f} MiB")
    print(f"process peak RSS (fleet included): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
