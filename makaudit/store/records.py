"""Records the history store returns: stored scans and one host's entry per scan."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from makaudit.model import HostResult, format_utc


class ScanKind(enum.StrEnum):
    """Source of a scan's results: remote collection, imported files, or a live query of one host."""

    SCAN = "scan"
    IMPORT = "import"
    HOST = "host"


class ScanStatus(enum.StrEnum):
    """State of a stored scan; ``interrupted`` is a scan whose process ended before finishing it."""

    RUNNING = "running"
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class ScanRow:
    """One stored scan with its host counts (``ok`` counts hosts with status ok)."""

    id: int
    kind: ScanKind
    status: ScanStatus
    started_at: datetime
    finished_at: datetime | None
    hosts: int
    ok: int
    parameters: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict[str, Any]:
        """Return the ``scans`` entry of the history document."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "started_at": format_utc(self.started_at),
            "finished_at": format_utc(self.finished_at),
            "status": self.status.value,
            "hosts": self.hosts,
            "ok": self.ok,
        }


@dataclass(frozen=True)
class HostHistoryEntry:
    """One host's result in one stored scan."""

    scan: ScanRow
    result: HostResult

    def to_dict(self) -> dict[str, Any]:
        """Return the ``host_records`` entry of the history document: the scan, then the host fields."""
        entry: dict[str, Any] = {
            "scan_id": self.scan.id,
            "scan_started_at": format_utc(self.scan.started_at),
            "scan_status": self.scan.status.value,
        }
        entry.update(self.result.to_dict())
        return entry
