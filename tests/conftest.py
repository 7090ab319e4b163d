"""Shared fixtures for the whole suite. Package-specific fixtures live in
``tests/<package>/conftest.py``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from data.locate import data_dir

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(data_dir("routerbench"))  # $LMROUTE_SHARED_DATA, ../shared/data, fetched


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data folder (data.locate's lookup order); skips the test when there is
    none (a user's machine before ``lmroute data fetch``)."""
    if not (SHARED_DATA / "routerbench").is_dir():
        pytest.skip(f"real data not found (looked in {SHARED_DATA}; set LMROUTE_SHARED_DATA "
                    "or run `lmroute data fetch`)")
    return SHARED_DATA
