"""Fixtures of the report tests; the sample fleet itself is in report_samples."""

from __future__ import annotations

import pytest

from makaudit.model import AnalysisResult
from report_samples import make_result


@pytest.fixture
def result() -> AnalysisResult:
    return make_result()
