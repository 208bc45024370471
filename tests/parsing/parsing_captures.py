"""Where the real captures live, for the parser tests (imported by them, not a conftest)."""

from __future__ import annotations

from pathlib import Path

import pytest

# The real captures are read in place from the shared fixtures folder beside the
# checkout; tests/captures holds a copy so that a clean checkout runs them too.
_SHARED = (Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures").resolve()
_COPY = Path(__file__).resolve().parents[1] / "captures"
FIXTURES = _SHARED if _SHARED.is_dir() else _COPY


def capture_files() -> list[Path]:
    """Every capture (``*.txt`` with a sidecar) in the shared fixtures folder, or [] when it is absent."""
    if not FIXTURES.is_dir():
        return []
    return sorted(path for path in FIXTURES.glob("*.txt") if path.with_suffix(".expected.json").exists())


def read_capture(name: str) -> bytes:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"real capture {name} not available in {FIXTURES}")
    return path.read_bytes()
