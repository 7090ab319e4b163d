"""Fixtures of the data-package tests. Heavy conversions of the real data are
session-scoped: each converter runs once per test session."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from data.convert import ConvertResult, convert
from data.profiles import DEFAULT_PROFILES, Profiles, load_profiles
from data.synthetic import SyntheticData, make_synthetic


@pytest.fixture(scope="session")
def profiles() -> Profiles:
    return load_profiles(DEFAULT_PROFILES)


@pytest.fixture(scope="session")
def routerbench(shared_data: Path, profiles: Profiles) -> ConvertResult:
    return convert("routerbench", [shared_data / "routerbench"], profiles)


@pytest.fixture(scope="session")
def routellm(shared_data: Path, profiles: Profiles) -> ConvertResult:
    return convert("routellm", [shared_data / "routellm"], profiles)


@pytest.fixture(scope="session")
def llmrouter(shared_data: Path, profiles: Profiles) -> ConvertResult:
    return convert("llmrouter", [shared_data / "llmrouter"], profiles)


@pytest.fixture(scope="session")
def synth() -> SyntheticData:
    return make_synthetic(300, models=4, seed=0)


@pytest.fixture()
def good_frame(synth: SyntheticData) -> pd.DataFrame:
    """A small valid canonical frame (a fresh copy per test)."""
    return synth.frame.iloc[:40].copy().reset_index(drop=True)
