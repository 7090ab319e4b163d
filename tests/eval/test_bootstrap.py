"""Bootstrap intervals: reproducible, paired, and covering the truth about as often as
they claim."""

from __future__ import annotations

import numpy as np
import pytest

from eval.bootstrap import Bootstrap


def test_same_seed_same_interval_and_shapes() -> None:
    v = np.random.default_rng(0).normal(size=(50, 3))
    b = Bootstrap(50, n_boot=200, seed=3)
    np.testing.assert_array_equal(b.means(v), b.means(v))
    assert b.means(v).shape == (200, 3) and b.means(v[:, 0]).shape == (200,)
    iv = b.mean_interval(v[:, 0])
    assert iv.ci_low < iv.mean < iv.ci_high


def test_coverage_close_to_nominal() -> None:
    rng = np.random.default_rng(1)
    hits = 0
    for i in range(200):
        x = rng.exponential(1.0, size=80)  # skewed, true mean 1
        iv = Bootstrap(80, n_boot=400, seed=i).mean_interval(x)
        hits += iv.ci_low <= 1.0 <= iv.ci_high
    assert 0.87 <= hits / 200 <= 0.99


def test_chunking_matches_unchunked(monkeypatch: pytest.MonkeyPatch) -> None:
    v = np.arange(10.0)
    whole = Bootstrap(10, n_boot=30, seed=0).means(v)
    monkeypatch.setattr("eval.bootstrap.MAX_CELLS", 40)  # 4 resamples per chunk
    chunked = Bootstrap(10, n_boot=30, seed=0).means(v)
    assert chunked.shape == whole.shape == (30,)
    assert abs(chunked.mean() - 4.5) < 0.6  # a different but valid random stream


def test_ratio_and_lower_bound() -> None:
    b = Bootstrap(4, n_boot=100, seed=0)
    r = b.ratio_means(np.array([1.0, 2, 3, 4]), np.array([1.0, 1, 1, 1]))
    assert np.all((r >= 1) & (r <= 4))
    assert b.lower_bound(np.ones(4)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="rows"):
        b.means(np.ones(5))
