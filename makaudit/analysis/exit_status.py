"""The exit status that ``--fail-on`` derives from the findings."""

from __future__ import annotations

from typing import Iterable

from makaudit.errors import EXIT_FINDINGS, EXIT_OK
from makaudit.model import Finding, Severity


def exit_status_for(findings: Iterable[Finding], fail_on: Severity | None) -> int:
    """Return 1 when a finding that is not suppressed is at or above ``fail_on``, else 0 (always 0 for None)."""
    if fail_on is None:
        return EXIT_OK
    for finding in findings:
        if not finding.suppressed and finding.severity.at_least(fail_on):
            return EXIT_FINDINGS
    return EXIT_OK
