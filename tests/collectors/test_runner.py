"""The scan runner: many hosts, faulty hosts, progress, Ctrl-C and stuck workers."""

from __future__ import annotations

import io
import logging
import threading
from collections import Counter
from typing import Iterator

import pytest

from conftest import fleet_options, make_machine, unique_users
from makaudit.collectors.runner import ProgressMode, ScanOutcome, run_scan
from makaudit.collectors.targets import Target, parse_target
from makaudit.model import HostResult, HostStatus
from makaudit.testing.fleet import FleetServer
from makaudit.testing.machine import HostFaults

FAULTY_EVERY = 10
FAULT_CYCLE = [
    ("refused", HostFaults(refuse_connection=True), HostStatus.UNREACHABLE),
    ("hang", HostFaults(hang=True), HostStatus.TIMEOUT),
    ("auth", HostFaults(auth_always_fails=True), HostStatus.AUTH_FAILED),
    ("garbage", HostFaults(garbage_output=True), HostStatus.ERROR),
]


def _faults_for(index: int) -> tuple[HostFaults, HostStatus]:
    if index % FAULTY_EVERY:
        return HostFaults(), HostStatus.OK
    _, faults, status = FAULT_CYCLE[(index // FAULTY_EVERY) % len(FAULT_CYCLE)]
    return faults, status


@pytest.fixture(scope="module")
def big_fleet() -> Iterator[FleetServer]:
    machines = [make_machine(index, _faults_for(index)[0]) for index in range(200)]
    with FleetServer(machines, users=unique_users()) as fleet:
        yield fleet


def _expected_status(fleet: FleetServer) -> dict[str, HostStatus]:
    return {machine.target: _faults_for(index)[1] for index, machine in enumerate(fleet.machines)}


def _targets(fleet: FleetServer) -> list[Target]:
    return [parse_target(machine.target) for machine in fleet.machines]


def test_200_hosts_with_faulty_tenth(big_fleet) -> None:
    seen: list[HostResult] = []
    options = fleet_options(big_fleet, operation_timeout=1, read_timeout=1.5)

    outcome = run_scan(_targets(big_fleet), options, workers=32, timeout=2.0, progress="none", on_result=seen.append)

    expected = _expected_status(big_fleet)
    assert not outcome.interrupted
    assert len(outcome.results) == 200
    assert list(outcome.results) == seen
    assert {result.target: result.status for result in outcome.results} == expected
    assert outcome.failed == 20
    documents = {machine.target: machine.document for machine in big_fleet.machines}
    for result in outcome.results:
        if result.status is HostStatus.OK:
            assert result.state.document == documents[result.target]
        else:
            assert result.error


def test_psrp_scan_of_mixed_hosts(big_fleet) -> None:
    targets = _targets(big_fleet)[:45]
    options = fleet_options(big_fleet, transport="psrp", operation_timeout=1, read_timeout=1.5)

    outcome = run_scan(targets, options, workers=8, timeout=2.0, progress="none")

    expected = _expected_status(big_fleet)
    assert Counter(result.status for result in outcome.results) == Counter(expected[str(target)] for target in targets)
    assert all(result.status is expected[result.target] for result in outcome.results)


def test_interrupt_keeps_finished_results(big_fleet) -> None:
    healthy = [target for target in _targets(big_fleet) if _expected_status(big_fleet)[str(target)] is HostStatus.OK]
    stored: list[HostResult] = []

    def store(result: HostResult) -> None:
        stored.append(result)
        if len(stored) == 5:
            raise KeyboardInterrupt

    outcome = run_scan(healthy[:60], fleet_options(big_fleet), workers=2, timeout=5.0, progress="none", on_result=store)

    assert outcome.interrupted
    # The hosts in flight at the interrupt (one per worker) may still finish within the grace period.
    assert 5 <= len(outcome.results) <= 5 + 2
    assert list(outcome.results) == stored
    assert all(result.status is HostStatus.OK for result in outcome.results)


def test_on_result_error_propagates(big_fleet) -> None:
    def fail(result: HostResult) -> None:
        raise RuntimeError("database is locked")

    with pytest.raises(RuntimeError, match="database is locked"):
        run_scan(_targets(big_fleet)[1:3], fleet_options(big_fleet), workers=1, progress="none", on_result=fail)


def test_log_progress_lines(big_fleet, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="makaudit.collectors"):
        run_scan(_targets(big_fleet)[1:6], fleet_options(big_fleet), workers=2, progress="log", log_interval=0.0)

    lines = [record.getMessage() for record in caplog.records if record.getMessage().startswith("scan progress:")]
    assert lines
    assert "5/5 hosts done, 0 failed" in lines[-1]
    assert "hosts/s" in lines[-1]


def test_progress_bar_written_to_stream(big_fleet) -> None:
    stream = io.StringIO()

    run_scan(_targets(big_fleet)[:4], fleet_options(big_fleet), workers=2, timeout=3.0, progress=ProgressMode.BAR, stream=stream)

    text = stream.getvalue()
    assert "4/4" in text
    assert "1 failed" in text
    assert "hosts/s" in text


class _StuckCollector:
    """Blocks on the first target until released, as a collector whose library ignored every timeout would."""

    def __init__(self, release: threading.Event) -> None:
        self.release = release

    def collect(self, target: Target) -> HostResult:
        if target.host == "stuck":
            self.release.wait(timeout=30)
        return HostResult(str(target), HostStatus.OK)

    def close(self) -> None:
        pass


def test_stuck_worker_abandoned_and_replaced() -> None:
    release = threading.Event()
    targets = [Target("stuck")] + [Target(f"pc-{number}") for number in range(5)]

    try:
        outcome = run_scan(
            targets,
            fleet_options_stub(),
            workers=1,
            timeout=0.3,
            progress="none",
            collector_factory=lambda: _StuckCollector(release),
            abandon_grace=0.2,
        )
    finally:
        release.set()

    statuses = {result.target: result.status for result in outcome.results}
    assert statuses["stuck"] is HostStatus.TIMEOUT
    assert [statuses[f"pc-{number}"] for number in range(5)] == [HostStatus.OK] * 5
    assert "abandoned" in next(result.error for result in outcome.results if result.target == "stuck")


def test_collector_bug_becomes_error_result() -> None:
    class Broken:
        def collect(self, target: Target) -> HostResult:
            raise KeyError("state")

        def close(self) -> None:
            pass

    outcome = run_scan([Target("pc-1")], fleet_options_stub(), workers=1, progress="none", collector_factory=Broken)

    assert outcome.results[0].status is HostStatus.ERROR
    assert "KeyError" in outcome.results[0].error


def test_empty_target_list() -> None:
    assert run_scan([], fleet_options_stub(), progress="none") == ScanOutcome((), interrupted=False)


@pytest.mark.parametrize(("workers", "timeout"), [(0, 1.0), (2000, 1.0), (4, 0.0)])
def test_invalid_arguments(workers: int, timeout: float) -> None:
    with pytest.raises(ValueError):
        run_scan([Target("pc-1")], fleet_options_stub(), workers=workers, timeout=timeout)


def fleet_options_stub():
    from makaudit.collectors.options import ConnectionOptions

    return ConnectionOptions(username="auditor", password="unused")


def test_collector_setup_error_raised() -> None:
    from makaudit.collectors.options import ConnectionOptions
    from makaudit.errors import UsageError

    options = ConnectionOptions(auth="negotiate", username="auditor", password="unused")

    with pytest.raises(UsageError, match="negotiate is not available"):
        run_scan([Target("pc-1"), Target("pc-2")], options, workers=2, progress="none")
