"""The growth exponent: the slope of log(cost) on log(size), on data whose exponent is known."""

from __future__ import annotations

import numpy as np
import pytest

from session_store_harness.judging.growth import growth_exponent

SIZES = [1_000.0, 3_000.0, 7_600.0, 30_000.0, 100_000.0]


@pytest.mark.parametrize("k", [0.0, 0.5, 1.0, 2.0])
def test_an_exact_power_law_gives_its_exponent_and_a_zero_width_interval(k: float) -> None:
    # GIVEN cost = 3 * size^k, 3 repeats a size, no noise
    sizes = [s for s in SIZES for _ in range(3)]
    fit = growth_exponent(sizes, [3 * s ** k for s in sizes])
    # THEN the slope is k, and the interval has nothing to be uncertain about
    assert fit.exponent == pytest.approx(k, abs=1e-9)
    assert fit.interval == pytest.approx((k, k), abs=1e-6)
    assert (fit.sizes, fit.points, fit.reason) == (5, 15, None)


def test_the_slope_agrees_with_numpy_polyfit_on_noisy_data() -> None:
    rng = np.random.default_rng(1)
    sizes = [s for s in SIZES for _ in range(4)]
    values = [2 * s ** 0.8 * rng.lognormal(0, 0.2) for s in sizes]
    fit = growth_exponent(sizes, values)
    expected = np.polyfit(np.log(sizes), np.log(values), 1)[0]
    assert fit.exponent == pytest.approx(expected, rel=1e-9)
    low, high = fit.interval
    assert low < fit.exponent < high


def test_the_95_percent_interval_covers_the_true_exponent_about_95_percent_of_the_time() -> None:
    # GIVEN 400 sweeps of a cost ~ size^0.7 with lognormal noise (3 sizes x 3 repeats)
    rng = np.random.default_rng(2026)
    sizes = [s for s in SIZES[:3] for _ in range(3)]
    covered = 0
    for _ in range(400):
        values = [s ** 0.7 * rng.lognormal(0, 0.3) for s in sizes]
        low, high = growth_exponent(sizes, values).interval
        covered += low <= 0.7 <= high
    # THEN the coverage is near 95% (binomial sd at 400 draws: 1.1 points; wide margins)
    assert 0.90 <= covered / 400 <= 0.99


def test_fewer_than_two_sizes_is_no_fit_and_says_why() -> None:
    fit = growth_exponent([7600.0] * 5, [10.0, 11.0, 12.0, 10.5, 11.5])
    assert not fit.fitted and fit.exponent is None and fit.interval is None
    assert "1 size(s)" in fit.reason and "2 or more" in fit.reason


def test_values_without_a_logarithm_are_left_out_and_named() -> None:
    # zero and missing figures (a heap measure that read 0) cannot be on a log axis
    fit = growth_exponent([1000.0, 2000.0, 4000.0], [None, 0.0, 5.0])
    assert not fit.fitted and "2 value(s) missing or <= 0" in fit.reason
    fit = growth_exponent([1000.0, 2000.0, 4000.0, 4000.0], [2.0, 0.0, 8.0, 8.0])
    assert fit.exponent == pytest.approx(1.0) and fit.points == 3


def test_two_points_give_a_slope_but_no_interval() -> None:
    fit = growth_exponent([1000.0, 4000.0], [1.0, 2.0])
    assert fit.exponent == pytest.approx(0.5)
    assert fit.interval is None and fit.reason is None
