"""Analysis of collected license records: MAK usage against the inventory, license positions and findings.

``analyse`` is imported on first use, so that commands which only need
``exit_status_for`` or the KMS address helpers do not load pandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from makaudit.analysis.exit_status import exit_status_for

if TYPE_CHECKING:
    from makaudit.analysis.engine import analyse

__all__ = ["analyse", "exit_status_for"]


def __getattr__(name: str) -> Any:
    if name == "analyse":
        from makaudit.analysis.engine import analyse

        return analyse
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
