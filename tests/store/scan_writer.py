"""A separate process that writes one scan to a history database, for the multi-process tests.

Usage: python scan_writer.py DB_PATH LABEL COUNT finish|hang

``finish`` stores COUNT host results and completes the scan. ``hang`` stores
COUNT results, prints ``ready SCAN_ID`` and sleeps until the test kills it
(at most 60 seconds).
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from pathlib import Path

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


def build_result(label: str, index: int) -> HostResult:
    record = LicenseRecord(
        application=Application.WINDOWS,
        name="Windows(R), Enterprise edition",
        description="Windows(R) Operating System, VOLUME_MAK channel",
        channel=Channel.MAK,
        partial_product_key="7QJ2K",
        license_status=LicenseStatus.LICENSED,
        source=RecordSource.WMI,
    )
    name = f"{label}-{index:04d}"
    state = EndpointState(
        computer=ComputerIdentity(name=name),
        collected_at=datetime.now(timezone.utc),
        records=(record,),
    )
    return HostResult(target=name.lower(), status=HostStatus.OK, state=state)


def main(arguments: list[str]) -> int:
    db_path, label, count_text, mode = arguments
    count = int(count_text)

    with HistoryStore.open(Path(db_path), busy_timeout=30.0) as store:
        scan_id = store.begin_scan("scan", {"label": label})
        for index in range(count):
            store.add_host_result(scan_id, build_result(label, index))

        if mode == "hang":
            print(f"ready {scan_id}", flush=True)
            time.sleep(60)
            return 1

        store.finish_scan(scan_id)
    print(f"done {scan_id}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
