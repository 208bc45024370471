"""Benchmark of the scan runner against the ideal and against a bare loop of the same client library.

The test fleet runs in a child process, so that the CPU time measured here is
the client's alone. Every emulated host takes ``--script-seconds`` to run the
collection script. For each transport (WinRM and PSRP, both with NTLM and
message encryption) and each worker count, the benchmark times:

- ``makaudit``: ``run_scan`` with the real collectors (script, retries,
  deadline, CLIXML decoding, parsing into records);
- ``bare``: a thread pool calling the client library directly with the same
  requests (open shell, run the encoded script, read output, close), with no
  error handling and no parsing;
- ``ideal``: hosts x script seconds / workers.

It also reports the CPU time of the fleet process per host, because the
fleet shares the cores with the scanner, and the load average before and
after the runs, because other processes may share the machine.

Run: ``.venv/bin/python benchmarks/bench_scan.py`` (about 2 to 4 minutes on
2 cores with the defaults); ``--hosts 200 --workers 16`` for a quick run.
"""

from __future__ import annotations

import argparse
import concurrent.futures
from collections import Counter
import json
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "collectors"))

from makaudit.collectors.options import ConnectionOptions  # noqa: E402
from makaudit.collectors.runner import run_scan  # noqa: E402
from makaudit.collectors.script import collection_script  # noqa: E402
from makaudit.collectors.targets import Target, parse_target  # noqa: E402
from makaudit.model import HostStatus  # noqa: E402

FLEET_ADDRESS_OCTET = 77
MAX_RUN_SECONDS = 300.0
"""A run that takes longer than this is reported and the remaining configurations are skipped."""


@dataclass(frozen=True)
class Measurement:
    transport: str
    mode: str
    workers: int
    hosts: int
    ok: int
    wall_seconds: float
    cpu_seconds: float
    fleet_cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.hosts / self.wall_seconds

    def efficiency(self, script_seconds: float) -> float:
        """Ideal wall time (hosts x script time / workers) over measured wall time."""
        ideal = self.hosts * script_seconds / self.workers
        return ideal / self.wall_seconds


def serve_fleet(hosts: int, script_seconds: float, connection, stop) -> None:
    """Child process: serve ``hosts`` emulated machines until ``stop`` is set.

    Each message received on ``connection`` gets the CPU seconds this process has used so far.
    """
    from conftest import make_document

    from makaudit.testing.fleet import FleetServer
    from makaudit.testing.machine import HostFaults, MachineDescription

    machines = [
        MachineDescription(
            name=f"PC-{index:04d}",
            document=make_document(index),
            slmgr_text="",
            address=f"127.{FLEET_ADDRESS_OCTET}.{index // 250}.{1 + index % 250}",
            faults=HostFaults(script_seconds=script_seconds),
        )
        for index in range(hosts)
    ]
    with FleetServer(machines, users=[("FLEET", "bench", "Bench-Pa55word")]) as fleet:
        connection.send({"targets": fleet.targets, "username": fleet.username, "password": fleet.password})
        give_up = time.monotonic() + 3600
        while not stop.is_set() and time.monotonic() < give_up:
            if connection.poll(0.5):
                connection.recv()
                connection.send(time.process_time())


def bare_winrm(target: Target, options: ConnectionOptions, command: str) -> bool:
    from winrm.protocol import Protocol

    protocol = Protocol(
        f"http://{target.url_host}:{target.port}/wsman",
        transport="ntlm",
        username=options.username,
        password=options.password,
        read_timeout_sec=30,
        operation_timeout_sec=20,
        proxy=None,
    )
    shell_id = protocol.open_shell(codepage=65001)
    try:
        command_id = protocol.run_command(shell_id, command)
        stdout, _, _ = protocol.get_command_output(shell_id, command_id)
        protocol.cleanup_command(shell_id, command_id)
    finally:
        protocol.close_shell(shell_id)
    return bool(json.loads(stdout))


def bare_psrp(target: Target, options: ConnectionOptions, script: str) -> bool:
    from pypsrp.powershell import PowerShell, RunspacePool
    from pypsrp.wsman import WSMan

    with WSMan(target.host, port=target.port, username=options.username, password=options.password, ssl=False, auth="ntlm", no_proxy=True) as wsman:
        with RunspacePool(wsman) as pool:
            shell = PowerShell(pool)
            shell.add_script(script)
            output = shell.invoke()
    return bool(json.loads("\n".join(str(item) for item in output)))


class FleetClock:
    """Reads the CPU seconds used by the fleet process, over the pipe to it."""

    def __init__(self, connection) -> None:
        self.connection = connection

    def cpu_seconds(self) -> float:
        self.connection.send("cpu")
        if not self.connection.poll(30):
            raise RuntimeError("the fleet process sent no CPU time within 30 s")
        return float(self.connection.recv())


def measure(
    run: Callable[[], int], fleet_clock: FleetClock, hosts: int, transport: str, mode: str, workers: int
) -> Measurement:
    fleet_start = fleet_clock.cpu_seconds()
    cpu_start = time.process_time()
    wall_start = time.perf_counter()
    ok = run()
    wall = time.perf_counter() - wall_start
    cpu = time.process_time() - cpu_start
    fleet_cpu = fleet_clock.cpu_seconds() - fleet_start
    return Measurement(transport, mode, workers, hosts, ok, wall, cpu, fleet_cpu)


def run_makaudit(targets: list[Target], options: ConnectionOptions, workers: int) -> int:
    outcome = run_scan(targets, options, workers=workers, timeout=120.0, progress="none")
    failures = Counter(result.error for result in outcome.results if result.status is not HostStatus.OK)
    for error, count in failures.most_common(5):
        print(f"  {count} host(s) failed: {error}", file=sys.stderr)
    return sum(1 for result in outcome.results if result.status is HostStatus.OK)


def run_bare(targets: list[Target], options: ConnectionOptions, workers: int) -> int:
    script = collection_script()
    if options.transport.value == "psrp":
        call: Callable[[Target], bool] = lambda target: bare_psrp(target, options, script.text)
    else:
        call = lambda target: bare_winrm(target, options, script.encoded_command)
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return sum(pool.map(call, targets))


def format_table(results: list[Measurement], script_seconds: float) -> str:
    """Markdown table of the runs; the ratio is makaudit's wall time over the bare loop's in the same configuration."""
    bare_walls = {(item.transport, item.workers): item.wall_seconds for item in results if item.mode == "bare"}
    lines = [
        "| transport | mode | workers | hosts ok | wall s | hosts/s | ideal s | efficiency | ratio vs bare | CPU ms/host | fleet CPU ms/host |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for item in results:
        ideal = item.hosts * script_seconds / item.workers
        bare_wall = bare_walls.get((item.transport, item.workers))
        ratio = "" if bare_wall is None or item.mode == "bare" else f"{item.wall_seconds / bare_wall:.2f}"
        lines.append(
            f"| {item.transport} | {item.mode} | {item.workers} | {item.ok}/{item.hosts} | {item.wall_seconds:.1f} | "
            f"{item.rate:.1f} | {ideal:.1f} | {item.efficiency(script_seconds):.0%} | {ratio} | "
            f"{1000 * item.cpu_seconds / item.hosts:.1f} | {1000 * item.fleet_cpu_seconds / item.hosts:.1f} |"
        )
    return "\n".join(lines)


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1000, help="emulated hosts (default 1000, at most 5000)")
    parser.add_argument("--script-seconds", type=float, default=0.2, help="simulated script time per host (default 0.2)")
    parser.add_argument("--workers", type=int, nargs="+", default=[16, 64, 128], help="worker counts (default 16 64 128)")
    parser.add_argument("--transports", nargs="+", default=["winrm", "psrp"], choices=["winrm", "psrp"])
    arguments = parser.parse_args(argv)
    if not 1 <= arguments.hosts <= 5000:
        parser.error("--hosts must be from 1 to 5000")
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    context = multiprocessing.get_context("spawn")
    parent_end, child_end = context.Pipe()
    stop = context.Event()
    server = context.Process(target=serve_fleet, args=(arguments.hosts, arguments.script_seconds, child_end, stop), daemon=True)
    server.start()

    results: list[Measurement] = []
    try:
        if not parent_end.poll(120):
            raise RuntimeError("the fleet process did not start within 120 s")
        fleet: dict[str, Any] = parent_end.recv()
        targets = [parse_target(text) for text in fleet["targets"]]
        load_before = load_average()
        results = run_matrix(arguments, targets, fleet, FleetClock(parent_end))
        load_after = load_average()
    finally:
        stop.set()
        server.join(timeout=30)

    print(f"{arguments.hosts} hosts, {arguments.script_seconds:g} s simulated script time per host")
    print(f"load average (1, 5, 15 min) before: {load_before}; after: {load_after}")
    print(format_table(results, arguments.script_seconds))
    return 0


def run_matrix(
    arguments: argparse.Namespace, targets: list[Target], fleet: dict[str, Any], fleet_clock: FleetClock
) -> list[Measurement]:
    results = []
    for transport in arguments.transports:
        options = ConnectionOptions(transport=transport, auth="ntlm", username=fleet["username"], password=fleet["password"])
        for workers in arguments.workers:
            for mode, runner in (("makaudit", run_makaudit), ("bare", run_bare)):
                item = measure(lambda: runner(targets, options, workers), fleet_clock, len(targets), transport, mode, workers)
                print(f"{transport} {mode} {workers} workers: {item.wall_seconds:.1f} s, {item.rate:.1f} hosts/s", file=sys.stderr)
                results.append(item)
                if item.wall_seconds > MAX_RUN_SECONDS:
                    print(f"stopping: one run took over {MAX_RUN_SECONDS:g} s", file=sys.stderr)
                    return results
    return results


if __name__ == "__main__":
    sys.exit(main())
