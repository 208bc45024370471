"""The exception tree of makaudit.

MakauditError                 base; ``exit_code`` is the process exit status it maps to
├── UsageError                invalid option or option combination (exit 2)
├── InputError                unreadable or invalid input file (exit 2)
│   ├── ParseError            a file that no parser could read: file, line or field, expected
│   └── InventoryError        an invalid inventory CSV, with every problem found
├── CollectionError           collecting one host failed; carries the phase and the host status.
│                             The scan runner turns it into a HostResult, never an exit status.
└── RunError                  the run itself failed (exit 3)
    └── StoreError            the history database is unusable (locked, read-only, corrupt, newer)

Library exceptions (pywinrm, pypsrp, requests, SQLAlchemy) are translated into
these where the library is called, never further up.
"""

from __future__ import annotations

from dataclasses import dataclass

from makaudit.model import HostStatus
from makaudit.productkey import mask_full_keys

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_RUN_FAILED = 3


class MakauditError(Exception):
    exit_code = EXIT_RUN_FAILED


class UsageError(MakauditError):
    exit_code = EXIT_USAGE


class InputError(MakauditError):
    exit_code = EXIT_USAGE


class ParseError(InputError):
    """A file or text that could not be parsed.

    ``source`` names the file (or ``<text>``), ``line`` the 1-based line or
    ``field`` the JSON field, and ``expected`` what the parser looked for.
    """

    def __init__(
        self,
        source: str,
        expected: str,
        *,
        line: int | None = None,
        field: str | None = None,
        detail: str | None = None,
    ) -> None:
        self.source = source
        self.expected = expected
        self.line = line
        self.field = field
        self.detail = detail
        super().__init__(self._compose())

    def _compose(self) -> str:
        where = self.source
        if self.line is not None:
            where += f", line {self.line}"
        if self.field is not None:
            where += f", field {self.field!r}"
        message = f"{where}: expected {self.expected}"
        if self.detail:
            message += f" ({self.detail})"
        return message


@dataclass(frozen=True)
class InventoryProblem:
    """One problem in an inventory CSV: the 1-based line (None for the header or file), the column, and the fix."""

    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = "header" if self.line is None else f"line {self.line}"
        if self.column:
            where += f", column {self.column!r}"
        return f"{where}: {self.message}"


class InventoryError(InputError):
    def __init__(self, path: str, problems: list[InventoryProblem]) -> None:
        self.path = path
        self.problems = problems
        lines = [f"{path}: {len(problems)} problem(s) in the inventory"]
        lines += [f"  {problem}" for problem in problems]
        super().__init__("\n".join(lines))


class CollectionError(MakauditError):
    """Collecting one host failed in ``phase`` (connect, authenticate, run script, parse output)."""

    def __init__(self, target: str, phase: str, status: HostStatus, message: str) -> None:
        # Endpoint output quoted in a message may hold a full product key (slmgr /ipk echoes it).
        message = mask_full_keys(message)
        self.target = target
        self.phase = phase
        self.status = status
        self.message = message
        super().__init__(f"{target}: {phase} failed: {message}")


class RunError(MakauditError):
    exit_code = EXIT_RUN_FAILED


class StoreError(RunError):
    pass
