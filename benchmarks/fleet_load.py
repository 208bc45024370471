"""Load test of the test fleet: real pywinrm NTLM clients scan every host once, in threads.

Usage: python benchmarks/fleet_load.py [--hosts 1000] [--threads 16] [--seconds 300]

Each scan is what the WinRM collector does: a new NTLM session with message
encryption, then ``run_ps`` of the collection script (shell Create, Command,
Receive, Signal, Delete). The run stops after every host was scanned once or
after ``--seconds``, whichever comes first, and prints scans and HTTP requests
per second and the errors by type.
"""

from __future__ import annotations

import argparse
import collections
import ipaddress
import json
import queue
import threading
import time

import winrm

from makaudit.testing.fleet import FleetServer
from makaudit.testing.machine import MachineDescription
from makaudit.testing.pytest_plugin import sample_machine

COLLECTION_SCRIPT = "Get-CimInstance SoftwareLicensingProduct -Filter 'PartialProductKey IS NOT NULL' | ConvertTo-Json"


def build_machines(count: int, base: str, port: int) -> list[MachineDescription]:
    first = ipaddress.ip_address(base)
    return [sample_machine(f"PC-{index:05d}", address=str(first + index), port=port) for index in range(count)]


def scan_worker(fleet: FleetServer, work: "queue.Queue[MachineDescription]", deadline: float, results: list[tuple[str, float]], lock: threading.Lock) -> None:
    while time.monotonic() < deadline:
        try:
            machine = work.get_nowait()
        except queue.Empty:
            return
        started = time.monotonic()
        try:
            session = winrm.Session(
                f"http://{machine.target}/wsman",
                auth=(fleet.username, fleet.password),
                transport="ntlm",
                operation_timeout_sec=20,
                read_timeout_sec=30,
                proxy=None,
                ca_trust_path=None,
            )
            result = session.run_ps(COLLECTION_SCRIPT)
            document = json.loads(result.std_out)
            outcome = "ok" if result.status_code == 0 and document["computer"]["name"] == machine.name else "wrong output"
        except Exception as error:  # a benchmark counts every failure type and goes on
            outcome = type(error).__name__
        with lock:
            results.append((outcome, time.monotonic() - started))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1000, help="hosts in the fleet (default 1000)")
    parser.add_argument("--threads", type=int, default=16, help="client threads (default 16)")
    parser.add_argument("--seconds", type=float, default=300.0, help="maximum run time in seconds (default 300)")
    parser.add_argument("--base", default="127.0.20.1", help="address of the first host (default 127.0.20.1)")
    parser.add_argument("--port", type=int, default=25985, help="port of every host (default 25985)")
    arguments = parser.parse_args()

    machines = build_machines(arguments.hosts, arguments.base, arguments.port)
    started = time.monotonic()
    with FleetServer(machines) as fleet:
        startup = time.monotonic() - started
        work: queue.Queue[MachineDescription] = queue.Queue()
        for machine in machines:
            work.put(machine)

        results: list[tuple[str, float]] = []
        lock = threading.Lock()
        began = time.monotonic()
        deadline = began + arguments.seconds
        threads = [
            threading.Thread(target=scan_worker, args=(fleet, work, deadline, results, lock), daemon=True)
            for _ in range(arguments.threads)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()) + 35)
        elapsed = time.monotonic() - began
        requests_served = fleet.stats.requests

    outcomes = collections.Counter(outcome for outcome, _ in results)
    durations = sorted(duration for _, duration in results)
    print(f"hosts: {arguments.hosts}, client threads: {arguments.threads}, fleet start: {startup:.1f} s")
    print(f"scans: {len(results)} in {elapsed:.1f} s = {len(results) / elapsed:.1f} scans/s")
    print(f"HTTP requests served: {requests_served} = {requests_served / elapsed:.1f} requests/s")
    if durations:
        print(f"scan time: median {durations[len(durations) // 2]:.3f} s, max {durations[-1]:.3f} s")
    print(f"outcomes: {dict(outcomes)}")
    errors = len(results) - outcomes.get("ok", 0)
    print(f"errors: {errors}")
    return 0 if errors == 0 and len(results) == arguments.hosts else 1


if __name__ == "__main__":
    raise SystemExit(main())
