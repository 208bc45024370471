"""Fixtures of the history store tests: a database path in a fresh folder, and an open store."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from makaudit.store import HistoryStore


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "history.sqlite"


@pytest.fixture
def store(db_path: Path) -> Iterator[HistoryStore]:
    with HistoryStore.open(db_path) as opened:
        yield opened
