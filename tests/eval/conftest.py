"""Session fixtures for the eval tests (synthetic worlds from ``tests.eval.world``)."""

from __future__ import annotations

import pytest

from tests.eval.world import World, make_world


@pytest.fixture(scope="session")
def train_world() -> World:
    return make_world(1500, seed=0)


@pytest.fixture(scope="session")
def test_world() -> World:
    return make_world(600, seed=1)
