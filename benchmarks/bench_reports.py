"""Time the Excel workbook and the HTML page for synthetic fleets, with peak memory and file size.

Run ``python benchmarks/bench_reports.py`` for 10,000 and 100,000 hosts, or
``--hosts N --format xlsx|html`` for one case. Each case runs in its own
process so that its peak resident memory (``ru_maxrss``) is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import openpyxl

from makaudit.model import (
    AnalysisResult,
    Application,
    Channel,
    ComputerIdentity,
    EndpointState,
    Finding,
    HostResult,
    HostStatus,
    KeyTrendPoint,
    KeyUsage,
    LicenseRecord,
    LicenseStatus,
    ProductPosition,
    RecordSource,
    Severity,
)
from makaudit.reports.excel import write_xlsx
from makaudit.reports.html import write_html
from makaudit.reports.model import ScanInfo, build_report

SIZES = (10_000, 100_000)
FORMATS = ("xlsx", "html")
KEYS = 12
UNREACHABLE_EVERY = 50
"""One host in 50 is unreachable, one in 20 has Office too, one in 30 is not activated."""


def synthetic_result(hosts: int) -> AnalysisResult:
    """Build an analysis result of ``hosts`` hosts over ``KEYS`` MAKs, with findings and 12 scans of trends."""
    collected = datetime(2026, 12, 4, 19, 0, tzinfo=timezone.utc)
    partials = [f"K{index:04d}" for index in range(KEYS)]
    results = []
    findings = []
    for index in range(hosts):
        name = f"PC-{index:06d}"
        if index % UNREACHABLE_EVERY == 0:
            results.append(HostResult(target=name.lower(), status=HostStatus.UNREACHABLE, error="connection refused on port 5985"))
            findings.append(Finding("HOST_UNREACHABLE", Severity.LOW, f"{name} could not be reached", "Check WinRM", host=name))
            continue

        status = LicenseStatus.NOTIFICATION if index % 30 == 0 else LicenseStatus.LICENSED
        records = [_record(Application.WINDOWS, "Windows(R), Enterprise edition", partials[index % KEYS], status)]
        if index % 20 == 0:
            records.append(_record(Application.OFFICE, "Office 21, Office21ProPlus2021VL_MAK_AE edition", partials[(index + 1) % KEYS], LicenseStatus.LICENSED))
        if status is not LicenseStatus.LICENSED:
            findings.append(Finding("HOST_NOT_ACTIVATED", Severity.HIGH, f"Windows is in Notification on {name}", "Run slmgr /ato", host=name))

        computer = ComputerIdentity(name=name, dns_host_name=f"{name.lower()}.corp.example", domain="corp.example", os_caption="Microsoft Windows 11 Enterprise", uuid=f"{index:08d}-0000-0000-0000-000000000000")
        state = EndpointState(computer=computer, collected_at=collected, records=tuple(records))
        results.append(HostResult(target=f"{name.lower()}.corp.example", status=HostStatus.OK, state=state))

    per_key = hosts // KEYS
    keys = tuple(KeyUsage(f"MAK-{index:02d}", partial, "Windows 11 Enterprise", per_key + 10 - index * 5, per_key, 3, "active") for index, partial in enumerate(partials))
    trends = tuple(
        KeyTrendPoint(scan, collected - timedelta(days=7 * (12 - scan)), key.key_id, key.partial_product_key, max(0, key.activated - 10 * (12 - scan)))
        for scan in range(1, 13)
        for key in keys
    )
    return AnalysisResult(
        generated_at=collected,
        hosts=tuple(results),
        keys=keys,
        findings=tuple(findings),
        positions=(ProductPosition("Windows 11 Enterprise", hosts, hosts - hosts // UNREACHABLE_EVERY),),
        trends=trends,
    )


def _record(application: Application, name: str, partial: str, status: LicenseStatus) -> LicenseRecord:
    return LicenseRecord(
        application=application,
        name=name,
        description=f"{application.value}, VOLUME_MAK channel",
        channel=Channel.MAK,
        partial_product_key=partial,
        license_status=status,
        source=RecordSource.WMI,
        license_status_reason="0xC004F009" if status is LicenseStatus.NOTIFICATION else None,
    )


def run_case(hosts: int, output_format: str) -> dict[str, object]:
    """Build the report and write one file; return seconds per step, peak memory and file size."""
    result = synthetic_result(hosts)
    scan = ScanInfo(started=result.generated_at, finished=result.generated_at, targets=hosts, source="benchmark")

    started = time.perf_counter()
    report = build_report(result, scan=scan)
    built = time.perf_counter()
    write_cpu_started = time.process_time()

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"bench.{output_format}"
        (write_xlsx if output_format == "xlsx" else write_html)(report, path)
        written = time.perf_counter()
        write_cpu = time.process_time() - write_cpu_started
        size = path.stat().st_size

    return {
        "hosts": hosts,
        "format": output_format,
        "rows": len(report.hosts),
        "build_seconds": round(built - started, 2),
        "write_seconds": round(written - built, 2),
        "write_cpu_seconds": round(write_cpu, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "file_mb": round(size / 1_048_576, 1),
        "xml_writer": "lxml" if openpyxl.LXML else "et_xmlfile",
        "load_average": round(os.getloadavg()[0], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, help="number of hosts of one case")
    parser.add_argument("--format", choices=FORMATS, help="output of one case")
    arguments = parser.parse_args()

    if arguments.hosts and arguments.format:
        print(json.dumps(run_case(arguments.hosts, arguments.format)))
        return

    print("| hosts | format | host rows | build s | write s | write CPU s | peak RSS MB | file MB | XML writer | load |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
    for hosts in SIZES:
        for output_format in FORMATS:
            command = [sys.executable, __file__, "--hosts", str(hosts), "--format", output_format]
            case = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
            print(
                f"| {case['hosts']:,} | {case['format']} | {case['rows']:,} | {case['build_seconds']} | "
                f"{case['write_seconds']} | {case['write_cpu_seconds']} | {case['peak_rss_mb']} | {case['file_mb']} | "
                f"{case['xml_writer']} | {case['load_average']} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
