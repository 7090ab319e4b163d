"""Shared fixtures for the whole suite. Package-specific fixtures live in
``tests/<package>/conftest.py``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("LMROUTE_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ../shared/data; skips the test when it is absent (a user's machine)."""
    if not (SHARED_DATA / "routerbench").is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (set LMROUTE_SHARED_DATA)")
    return SHARED_DATA
