"""Statistics on data with a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from session_store_harness.judging.metrics import metric_values, steady_rss_mb
from session_store_harness.judging.stats import (
    ci95_of_mean,
    difference,
    shift_interval,
    slope_per_cycle,
)
from tests.fakes import fake_run


def test_slope_of_a_known_line_with_noise() -> None:
    rng = np.random.default_rng(3)
    cycles = np.arange(1, 51)
    rss = 200 + 2.5 * cycles + rng.normal(0, 0.5, cycles.size)
    assert slope_per_cycle(cycles.tolist(), rss.tolist()) == pytest.approx(2.5, abs=0.02)
    assert slope_per_cycle([10], [5.0]) is None


def test_interval_of_the_mean() -> None:
    low, high = ci95_of_mean([10.0, 12.0, 14.0])  # mean 12, sd 2, t(0.975, 2) = 4.303
    assert (low, high) == pytest.approx((12 - 4.303 * 2 / 3**0.5, 12 + 4.303 * 2 / 3**0.5),
                                        abs=1e-3)
    assert ci95_of_mean([5.0]) is None
    assert ci95_of_mean([5.0, 5.0]) == (5.0, 5.0)


def test_a_known_difference_is_found_and_its_interval_holds_it() -> None:
    rng = np.random.default_rng(7)
    before = 100 + rng.normal(0, 1, 5)
    after = before + 10 + rng.normal(0, 1, 5)
    result = difference(before.tolist(), after.tolist())
    assert result.verdict == "worse" and result.p_value == pytest.approx(2 / 252)
    assert result.change == pytest.approx(10, abs=1.5)
    assert 0 < result.interval[0] <= result.change <= result.interval[1] and not result.noisy
    better = difference(after.tolist(), before.tolist())
    assert better.verdict == "better" and better.change < 0


def test_no_difference_is_not_significant() -> None:
    rng = np.random.default_rng(1)
    same = difference((50 + rng.normal(0, 1, 5)).tolist(), (50 + rng.normal(0, 1, 5)).tolist())
    assert same.verdict == "no significant change" and same.p_value > 0.05
    assert same.interval[0] < 0 < same.interval[1]


def test_too_few_repeats_never_claim_significance() -> None:
    result = difference([1.0, 1.1, 1.2], [5.0, 5.1, 5.2])
    assert result.p_value == pytest.approx(0.1) and result.verdict == "too few repeats"
    assert result.interval is None and not result.significant
    assert difference([1.0], [2.0]).verdict == "too few repeats"


def test_ties_get_the_exact_p_not_the_normal_approximation() -> None:
    # GIVEN 3 tied values a side (common at the CSVs' 1 KiB resolution): scipy's default
    # normal approximation says p = 0.047, the exact permutation p is 0.1
    tied = difference([200.0] * 3, [400.0] * 3)
    assert tied.p_value == pytest.approx(0.1) and tied.verdict == "too few repeats"
    # AND at 4 a side, tied, the smallest exact p is 2/70
    four = difference([1.0, 1.0, 2.0, 2.0], [3.0, 3.0, 4.0, 4.0])
    assert four.p_value == pytest.approx(2 / 70) and four.verdict == "worse"


def test_relative_change_keeps_its_sign_for_a_negative_baseline() -> None:
    # RSS shrinking by 0.5 MB/cycle before, flat after: a rise, so positive
    assert difference([-0.5, -0.5], [0.0, 0.0]).relative == pytest.approx(1.0)


SAWTOOTH = [77.0, 85.75, 94.5, 103.25, 112.0]  # MB: one tooth, median 94.5


def test_steady_rss_of_a_known_sawtooth_is_its_median_whatever_the_last_phase() -> None:
    # GIVEN a store still growing for the first half (cycles 0-200), then RSS on a sawtooth
    # between 77 and 112 MB, sampled every 10 cycles; the runs end on every phase of the tooth
    ramp = [20.0 + 2.0 * i for i in range(21)]
    steady, last = [], []
    for phase in range(len(SAWTOOTH)):
        rss = ramp + [SAWTOOTH[i % 5] for i in range(20 + phase)]
        figures = metric_values(fake_run("saw", rss, 5, 120).repeats[0])
        steady.append(figures["rss_steady_mb"])
        last.append(figures["rss_last_mb"])
    # THEN the steady RSS is the tooth's median every time, and the ramp does not count
    assert steady == pytest.approx([94.5] * 5)
    # while RSS at the last cycle lands anywhere on the tooth
    assert sorted(last) == pytest.approx(SAWTOOTH)


def test_steady_rss_keeps_at_least_the_last_sample() -> None:
    # samples at cycles 0 and 10: only cycle 10 is past half of 10
    assert steady_rss_mb(fake_run("two", [50.0, 60.0], 5, 70).repeats[0].samples) == \
        pytest.approx(60.0)
    # one sample, at cycle 0 (nothing is past half of 0): that sample
    first = fake_run("two", [50.0, 60.0], 5, 70).repeats[0].samples[:1]
    assert steady_rss_mb(first) == pytest.approx(50.0)
    assert steady_rss_mb(()) is None


def test_the_interval_covers_a_true_zero_at_least_as_often_as_it_claims() -> None:
    # A/A draws at 5 a side (a bootstrap of 5 values covers far less than 95%)
    rng = np.random.default_rng(3)
    draws = [(rng.normal(0, 1, 5), rng.normal(0, 1, 5)) for _ in range(1000)]
    covered = sum(low <= 0 <= high for low, high in (shift_interval(b, a) for b, a in draws))
    assert covered / len(draws) >= 0.95
    # and at a split level it is wider, covering more
    wide = [shift_interval(b, a, alpha=0.05 / 3) for b, a in draws[:50]]
    narrow = [shift_interval(b, a) for b, a in draws[:50]]
    assert all(w[0] <= n[0] and w[1] >= n[1] for w, n in zip(wide, narrow, strict=True))


def test_the_interval_excludes_zero_exactly_when_the_test_is_significant() -> None:
    rng = np.random.default_rng(5)
    for _ in range(60):
        before, after = rng.normal(0, 1, 6), rng.normal(rng.uniform(0, 2.5), 1, 6)
        low, high = shift_interval(before, after)
        assert (not low <= 0 <= high) == (difference(before, after).p_value < 0.05)
