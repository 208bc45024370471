"""The scan runner: collects many targets with a pool of worker threads and reports progress.

Each worker thread owns its collector (WinRM and PSRP sessions are never shared
between threads). Results reach the caller in the calling thread, through
``on_result``, as each host finishes. A host that outlives its deadline by
``ABANDON_GRACE_SECONDS`` is reported as timed out and its worker is abandoned
and replaced, so one stuck host cannot hold the scan. Ctrl-C stops the scan and
keeps every result finished so far.
"""

from __future__ import annotations

import enum
import logging
import queue
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable, TextIO

from makaudit.collectors.interface import DEFAULT_HOST_TIMEOUT, Collector
from makaudit.collectors.options import ConnectionOptions, Transport
from makaudit.collectors.progress import ScanProgress, open_progress
from makaudit.collectors.targets import Target
from makaudit.model import HostResult, HostStatus

logger = logging.getLogger(__name__)

DEFAULT_WORKERS = 16
MAX_WORKERS = 1024
ABANDON_GRACE_SECONDS = 10.0
"""How long past its deadline a host may run before the runner gives up on its worker."""

_POLL_SECONDS = 0.2
INTERRUPT_GRACE_SECONDS = 5.0
"""How long an interrupted scan waits for the hosts being collected, so their endpoint sessions are closed."""

CollectorFactory = Callable[[], Collector]


class ProgressMode(enum.StrEnum):
    """Progress display of a scan: a bar on a terminal, periodic log lines otherwise, or nothing."""

    AUTO = "auto"
    BAR = "bar"
    LOG = "log"
    NONE = "none"


@dataclass(frozen=True)
class ScanOutcome:
    """The results of a scan in completion order, and whether Ctrl-C cut it short."""

    results: tuple[HostResult, ...]
    interrupted: bool = False

    @property
    def failed(self) -> int:
        return sum(1 for result in self.results if result.status is not HostStatus.OK)


def make_collector(options: ConnectionOptions, host_timeout: float = DEFAULT_HOST_TIMEOUT) -> Collector:
    """Return a new collector for the transport of ``options``; one per thread."""
    if options.transport is Transport.PSRP:
        from makaudit.collectors.psrp import PSRPCollector

        return PSRPCollector(options, host_timeout)

    from makaudit.collectors.winrm import WinRMCollector

    return WinRMCollector(options, host_timeout)


def run_scan(
    targets: Iterable[Target],
    options: ConnectionOptions,
    workers: int = DEFAULT_WORKERS,
    timeout: float = DEFAULT_HOST_TIMEOUT,
    progress: ProgressMode | str = ProgressMode.AUTO,
    on_result: Callable[[HostResult], None] | None = None,
    *,
    collector_factory: CollectorFactory | None = None,
    log_interval: float = 30.0,
    stream: TextIO | None = None,
    abandon_grace: float = ABANDON_GRACE_SECONDS,
) -> ScanOutcome:
    """Collect every target with ``workers`` threads; ``timeout`` bounds each host, in seconds.

    ``on_result`` runs in the calling thread for each host as it finishes; an
    exception it raises stops the scan and propagates. ``collector_factory``
    replaces the collector built from ``options`` (one call per worker thread).
    A host still running ``abandon_grace`` seconds after its timeout is
    reported as timed out and its worker thread is replaced.
    """
    target_list = list(targets)
    if not 1 <= workers <= MAX_WORKERS:
        raise ValueError(f"invalid worker count {workers}: expected 1 to {MAX_WORKERS}")
    if timeout <= 0:
        raise ValueError(f"invalid per-host timeout {timeout}: expected seconds above 0")

    factory = collector_factory or (lambda: make_collector(options, timeout))
    mode = ProgressMode(progress)
    scan = _Scan(target_list, factory, min(workers, max(1, len(target_list))), timeout + abandon_grace)

    logger.info("scan started: %d target(s), %d worker(s), %s", len(target_list), scan.worker_count, options)
    with open_progress(mode.value, len(target_list), stream or sys.stderr, log_interval) as bar:
        outcome = scan.run(bar, on_result)

    level = logging.WARNING if outcome.interrupted else logging.INFO
    logger.log(
        level,
        "scan %s: %d of %d host(s) done, %d failed",
        "interrupted" if outcome.interrupted else "finished",
        len(outcome.results),
        len(target_list),
        outcome.failed,
    )
    return outcome


class _Worker(threading.Thread):
    """Takes targets from the queue until it is empty or the scan stops."""

    def __init__(self, scan: "_Scan", number: int) -> None:
        super().__init__(name=f"makaudit-scan-{number}", daemon=True)
        self.scan = scan
        self.current: tuple[Target, float] | None = None
        self.abandoned = False

    def run(self) -> None:
        try:
            collector = self.scan.factory()
        except Exception as error:  # noqa: BLE001 - reported to the main thread, which raises it
            self.scan.results.put((self, error))
            return

        try:
            self._work(collector)
        finally:
            collector.close()

    def _work(self, collector: Collector) -> None:
        while not self.scan.stop.is_set() and not self.abandoned:
            try:
                target = self.scan.pending.get_nowait()
            except queue.Empty:
                return

            self.current = (target, time.monotonic())
            try:
                result = collector.collect(target)
            except Exception as error:  # noqa: BLE001 - a collector bug must not end the scan
                logger.exception("%s: the collector raised instead of returning a result", target)
                result = HostResult(str(target), HostStatus.ERROR, error=f"collect failed: {type(error).__name__}: {error}")
            self.current = None
            self.scan.results.put((self, result))


class _Scan:
    """State of one running scan, shared by the calling thread and the workers."""

    def __init__(self, targets: list[Target], factory: CollectorFactory, worker_count: int, abandon_after: float) -> None:
        self.factory = factory
        self.worker_count = worker_count
        self.abandon_after = abandon_after
        self.total = len(targets)
        self.pending: queue.Queue[Target] = queue.Queue()
        for target in targets:
            self.pending.put(target)
        self.results: queue.Queue[tuple[_Worker, HostResult | BaseException]] = queue.Queue()
        self.stop = threading.Event()
        self.workers: list[_Worker] = []
        self._started = 0

    def run(self, bar: ScanProgress, on_result: Callable[[HostResult], None] | None) -> ScanOutcome:
        finished: list[HostResult] = []
        try:
            for _ in range(self.worker_count):
                self._start_worker()

            while len(finished) < self.total:
                for result in self._next_results():
                    finished.append(result)
                    bar.advance(result.status is not HostStatus.OK)
                    if on_result is not None:
                        on_result(result)
                bar.refresh()
                self._replace_lost_workers()
        except KeyboardInterrupt:
            self.stop.set()
            finished.extend(self._finish_in_flight(bar, on_result))
            logger.warning("scan interrupted: keeping the %d result(s) finished so far", len(finished))
            return ScanOutcome(tuple(finished), interrupted=True)
        finally:
            self.stop.set()

        return ScanOutcome(tuple(finished))

    def _finish_in_flight(self, bar: ScanProgress, on_result: Callable[[HostResult], None] | None) -> list[HostResult]:
        """Give the hosts being collected a few seconds to finish after an interrupt.

        A worker that finishes closes its shell or runspace pool on the endpoint, so an interrupted scan leaves
        no session counting against the endpoint's shell quota. A second interrupt stops the wait at once.
        """
        results: list[HostResult] = []
        deadline = time.monotonic() + INTERRUPT_GRACE_SECONDS
        try:
            while time.monotonic() < deadline and any(worker.is_alive() and not worker.abandoned for worker in self.workers):
                try:
                    worker, outcome = self.results.get(timeout=_POLL_SECONDS)
                except queue.Empty:
                    continue
                if isinstance(outcome, BaseException) or worker.abandoned:
                    continue
                results.append(outcome)
                bar.advance(outcome.status is not HostStatus.OK)
                if on_result is not None:
                    on_result(outcome)
        except KeyboardInterrupt:
            logger.warning("second interrupt: not waiting for the hosts still being collected")
        return results

    def _start_worker(self) -> None:
        self._started += 1
        worker = _Worker(self, self._started)
        self.workers.append(worker)
        worker.start()

    def _replace_lost_workers(self) -> None:
        """Start a worker when targets wait but every worker has ended, so the scan cannot stall."""
        if self.pending.empty() or not self.results.empty():
            return
        if any(worker.is_alive() for worker in self.workers):
            return
        logger.warning("every scan worker ended with %d target(s) waiting; starting a new worker", self.pending.qsize())
        self._start_worker()

    def _next_results(self) -> list[HostResult]:
        """Wait briefly for finished hosts, and time out hosts whose worker is stuck."""
        results: list[HostResult] = []
        try:
            item = self.results.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            item = None

        while item is not None:
            worker, outcome = item
            if isinstance(outcome, BaseException):
                raise outcome
            if not worker.abandoned:
                results.append(outcome)
            try:
                item = self.results.get_nowait()
            except queue.Empty:
                item = None

        results.extend(self._abandon_stuck_workers())
        return results

    def _abandon_stuck_workers(self) -> list[HostResult]:
        results = []
        now = time.monotonic()
        for worker in list(self.workers):
            current = worker.current
            if worker.abandoned or current is None or now - current[1] <= self.abandon_after:
                continue

            target, started = current
            worker.abandoned = True
            self.workers.remove(worker)
            logger.warning("%s: no result %.0f s after the start; abandoning its worker thread", target, now - started)
            results.append(
                HostResult(
                    str(target),
                    HostStatus.TIMEOUT,
                    error=f"collect failed: no result {self.abandon_after:g} s after the start; the worker was abandoned",
                    duration_seconds=now - started,
                )
            )
            if not self.pending.empty():
                self._start_worker()
        return results
