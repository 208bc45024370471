"""Benchmark the history store: insert and read back the state of many hosts.

Each host has one Windows MAK record; every fourth host also has an Office
KMS client record. The script inserts one import scan through the batch API,
then reads the latest results, the key usage and one host's history, and
prints wall-clock times and the peak resident memory of the process.

Usage: python benchmarks/bench_store.py [--hosts 100000] [--batch-size 1000] [--db PATH]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

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
from makaudit.store import HistoryStore

MAK_KEYS = ("7QJ2K", "9RT4M", "XK3P8", "DC2VW")


def generate_results(count: int) -> Iterator[HostResult]:
    collected_at = datetime(2026, 12, 4, 19, 40, tzinfo=timezone.utc)
    for index in range(count):
        records = [
            LicenseRecord(
                application=Application.WINDOWS,
                name="Windows(R), Enterprise edition",
                description="Windows(R) Operating System, VOLUME_MAK channel",
                channel=Channel.MAK,
                partial_product_key=MAK_KEYS[index % len(MAK_KEYS)],
                license_status=LicenseStatus.LICENSED if index % 50 else LicenseStatus.OOB_GRACE,
                source=RecordSource.WMI,
                grace_minutes=0,
                product_key_channel="Volume:MAK",
            )
        ]
        if index % 4 == 0:
            records.append(
                LicenseRecord(
                    application=Application.OFFICE,
                    name="Office 16, Office16ProPlus2021VL_KMS_Client_AE edition",
                    description="Office 16, VOLUMELICENSE channel",
                    channel=Channel.KMS_CLIENT,
                    partial_product_key="6F7TH",
                    license_status=LicenseStatus.LICENSED,
                    source=RecordSource.WMI,
                    grace_minutes=259_200,
                    kms_machine="kms01.corp.example.test:1688",
                )
            )
        name = f"PC-{index:06d}"
        computer = ComputerIdentity(name=name, uuid=f"4C4C4544-{index:04X}-3010-8052-B7C04F4E3332", domain="corp.example.test")
        state = EndpointState(computer=computer, collected_at=collected_at, records=tuple(records))
        yield HostResult(target=name.lower(), status=HostStatus.OK, state=state, duration_seconds=0.8)


def peak_memory_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kibibytes, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def timed(label: str, action):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    value = action()
    elapsed = time.perf_counter() - start
    print(f"{label:<34} {elapsed:8.2f} s   peak RSS so far {peak_memory_mib():8.1f} MiB")
    return value


def run(hosts: int, batch_size: int, db_path: Path) -> None:
    print(f"{hosts} hosts, batch size {batch_size}, database {db_path}")
    with HistoryStore.open(db_path) as store:
        scan_id = store.begin_scan("import", {"benchmark": True, "hosts": hosts})
        stored = timed("insert (add_host_results)", lambda: store.add_host_results(scan_id, generate_results(hosts), batch_size))
        store.finish_scan(scan_id)

        results = timed("read back (latest_results)", store.latest_results)
        points = timed("key usage (all keys)", store.key_usage)
        entries = timed("host history (one host)", lambda: store.host_history("PC-000042"))

    records = sum(len(result.state.records) for result in results if result.state is not None)
    size_mib = db_path.stat().st_size / (1024 * 1024)
    print(f"stored {stored} hosts, read back {len(results)} hosts with {records} records")
    print(f"key usage points {len(points)}, history entries {len(entries)}, database file {size_mib:.1f} MiB")
    if len(results) != hosts:
        raise SystemExit(f"read back {len(results)} hosts, expected {hosts}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=100_000, help="number of hosts to insert (default 100000)")
    parser.add_argument("--batch-size", type=int, default=1000, help="host results per transaction (default 1000)")
    parser.add_argument("--db", type=Path, help="database file to create (default: a temporary folder)")
    arguments = parser.parse_args()

    if arguments.db is not None:
        run(arguments.hosts, arguments.batch_size, arguments.db)
        return
    with tempfile.TemporaryDirectory(prefix="makaudit-bench-") as folder:
        run(arguments.hosts, arguments.batch_size, Path(folder) / "history.sqlite")


if __name__ == "__main__":
    main()
