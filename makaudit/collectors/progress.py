"""Scan progress: a rich progress bar on a terminal, periodic log lines otherwise."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Iterator, Protocol, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.text import Text

logger = logging.getLogger(__name__)


class ScanProgress(Protocol):
    def advance(self, failed: bool) -> None: ...

    def refresh(self) -> None: ...


class _Counts:
    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.failed = 0
        self.started = time.monotonic()

    def advance(self, failed: bool) -> None:
        self.done += 1
        self.failed += int(failed)

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        rate = self.rate
        if rate <= 0:
            return None
        return (self.total - self.done) / rate


class _NoProgress(_Counts):
    def refresh(self) -> None:
        pass


class _LogProgress(_Counts):
    """Logs one INFO line every ``interval`` seconds, for scheduled runs without a terminal."""

    def __init__(self, total: int, interval: float) -> None:
        super().__init__(total)
        self.interval = interval
        self._last = self.started

    def refresh(self) -> None:
        now = time.monotonic()
        if now - self._last < self.interval:
            return
        self._last = now
        self.log()

    def log(self) -> None:
        eta = self.eta_seconds
        eta_text = "unknown" if eta is None else f"{eta:.0f} s"
        logger.info(
            "scan progress: %d/%d hosts done, %d failed, %.1f hosts/s, ETA %s",
            self.done,
            self.total,
            self.failed,
            self.rate,
            eta_text,
        )


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("-- hosts/s" if speed is None else f"{speed:.1f} hosts/s")


class _BarProgress(_Counts):
    def __init__(self, total: int, progress: Progress) -> None:
        super().__init__(total)
        self.progress = progress
        self.task = progress.add_task("Scanning", total=total, failed=0)

    def advance(self, failed: bool) -> None:
        super().advance(failed)
        self.progress.update(self.task, advance=1, failed=self.failed)

    def refresh(self) -> None:
        pass


@contextlib.contextmanager
def open_progress(mode: str, total: int, stream: TextIO, interval: float) -> Iterator[ScanProgress]:
    """Show progress for ``total`` hosts: mode ``bar``, ``log``, ``none``, or ``auto`` (bar only on a terminal)."""
    if mode == "auto":
        mode = "bar" if stream.isatty() else "log"

    if mode == "none":
        yield _NoProgress(total)
        return

    if mode == "log":
        counts = _LogProgress(total, interval)
        yield counts
        counts.log()
        return

    console = Console(file=stream)
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[red]{task.fields[failed]} failed"),
        _RateColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        yield _BarProgress(total, progress)
