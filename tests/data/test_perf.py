"""Validation of 1,000,000 rows takes seconds (run with ``pytest -m perf``)."""

from __future__ import annotations

import time

import pytest

from data.synthetic import make_synthetic
from data.validate import validate_frame


@pytest.mark.perf
def test_validate_one_million_rows_in_seconds() -> None:
    frame = make_synthetic(100_000, models=10, seed=0).frame
    assert len(frame) == 1_000_000
    start = time.perf_counter()
    report = validate_frame(frame)
    elapsed = time.perf_counter() - start
    assert report.ok
    assert elapsed < 20.0, f"validation of 1M rows took {elapsed:.1f} s"
