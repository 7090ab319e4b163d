"""Hull, AIQ, cost-at-quality, APGR and CPT on cases computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from eval import curves as cv


def test_hull_drops_points_under_the_chord_and_decreasing_ones() -> None:
    hull = cv.nondecreasing_hull(np.array([2, 1, 3, 4]), np.array([0.6, 0.5, 0.9, 0.8]))
    np.testing.assert_allclose(hull, np.array([[1, 0.5], [3, 0.9]]))


def test_hull_keeps_point_above_chord_and_best_at_same_cost() -> None:
    hull = cv.nondecreasing_hull(np.array([1, 2, 3, 1]), np.array([0.5, 0.8, 0.9, 0.4]))
    np.testing.assert_allclose(hull, np.array([[1, 0.5], [2, 0.8], [3, 0.9]]))


def test_aiq_three_points() -> None:
    # (1, .5) (2, .6) (3, .9): (2, .6) lies under the chord -> area 2 * (.5 + .9) / 2 = 1.4
    hull = cv.nondecreasing_hull(np.array([1, 2, 3]), np.array([0.5, 0.6, 0.9]))
    assert cv.aiq(hull, 1, 3) == pytest.approx(0.7)
    # wider range: 0 below the cheapest point, flat after the last -> (1.4 + 0.9) / 4
    assert cv.aiq(hull, 0, 4) == pytest.approx(0.575)
    hull2 = cv.nondecreasing_hull(np.array([1, 2, 3]), np.array([0.5, 0.8, 0.9]))
    assert cv.aiq(hull2, 1, 3) == pytest.approx((0.65 + 0.85) / 2)
    with pytest.raises(ValueError, match="empty cost range"):
        cv.aiq(hull, 2, 2)


def test_cost_at_quality_interpolates_on_hull() -> None:
    hull = np.array([[1, 0.5], [3, 0.9]])
    assert cv.cost_at_quality(hull, 0.7).cost == pytest.approx(2.0)
    assert cv.cost_at_quality(hull, 0.4).cost == pytest.approx(1.0)
    assert cv.cost_at_quality(hull, 0.95).cost is None


def test_apgr_and_cpt() -> None:
    frac, qual = np.array([0, 0.5, 1]), np.array([0.5, 0.8, 0.9])
    # PGR = (0, .75, 1) -> trapezoid .5 * .375 + .5 * .875
    assert cv.apgr(frac, qual, 0.5, 0.9) == pytest.approx(0.625)
    assert cv.cpt(frac, qual, 0.5, 0.9, 0.5) == pytest.approx(1 / 3)  # q = .7
    assert cv.cpt(frac, qual, 0.5, 0.9, 0.8) == pytest.approx(0.6)  # q = .82
    # random routing is the diagonal: APGR 1/2, CPT(x) = x
    lin = np.linspace(0, 1, 11)
    assert cv.apgr(lin, 0.5 + 0.4 * lin, 0.5, 0.9) == pytest.approx(0.5)
    assert cv.cpt(lin, 0.5 + 0.4 * lin, 0.5, 0.9, 0.8) == pytest.approx(0.8)


def test_apgr_adds_trivial_end_points() -> None:
    # one operating point at 50% strong calls with PGR 1: (0, 0) (.5, 1) (1, 1)
    assert cv.apgr(np.array([0.5]), np.array([0.9]), 0.5, 0.9) == pytest.approx(0.75)
    assert cv.cpt(np.array([0.5]), np.array([0.6]), 0.5, 0.9, 0.5) == pytest.approx(
        0.5 + 0.5 * (0.7 - 0.6) / (0.9 - 0.6)
    )
