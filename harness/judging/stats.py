"""Statistics on small samples of repeats. Pure functions; scipy does the mathematics."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

ALPHA = 0.05
POWER = 0.80  # the chance a true change of the minimum detectable size is found significant
MIN_REPEATS = 4  # a side: with 3 and 3 the smallest exact two-sided Mann-Whitney p is 0.1
Verdict = Literal["better", "worse", "no significant change", "too few repeats"]


def slope_per_cycle(cycles: Sequence[float], values: Sequence[float]) -> float | None:
    """Least-squares slope of `values` over `cycles`; None with fewer than two cycles."""
    if len(set(cycles)) < 2:
        return None
    return float(stats.linregress(cycles, values).slope)


def ci95_of_mean(values: Sequence[float]) -> tuple[float, float] | None:
    """Student-t 95% interval of the mean across repeats; None with fewer than two."""
    data = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if len(data) < 2:
        return None
    if np.ptp(data) == 0:
        return float(data[0]), float(data[0])
    low, high = stats.t.interval(0.95, len(data) - 1, loc=data.mean(), scale=stats.sem(data))
    return float(low), float(high)


@dataclass(frozen=True)
class Difference:
    """How `after` differs from `before` (lower is better), and how sure we are."""

    before_median: float
    after_median: float
    change: float  # difference of medians
    relative: float | None  # None when the baseline is under the metric's floor
    ci95: tuple[float, float] | None  # bootstrap interval of the difference of medians
    p_value: float | None  # Mann-Whitney U, two-sided
    verdict: Verdict
    noisy: bool  # the spread between repeats is larger than the change
    mdc: float | None = None  # minimum detectable change; None under MIN_REPEATS a side

    @property
    def significant(self) -> bool:
        return self.verdict in ("better", "worse")


def difference(before: Sequence[float], after: Sequence[float],
               floor: float = 0.0) -> Difference:
    """Compare two sets of per-repeat values with tests suited to a handful of repeats.

    Mann-Whitney U needs no normality; its p-value comes from the exact permutation
    distribution (ties included: scipy's normal approximation gives p = 0.047 for 3 tied
    values a side, where the exact p is 0.1). With 5 and 5 repeats the smallest two-sided p is
    0.008, with 4 and 4 0.029, with 3 and 3 0.1: fewer than `MIN_REPEATS` a side can never be
    significant, and get neither a verdict nor an interval.
    """
    b, a = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    change = float(np.median(a) - np.median(b))
    # relative to the baseline's size, so a sign always says worse (+) or better (-); under
    # the floor a percentage says nothing (+175875% from a baseline of 0.0001 MB)
    base = abs(float(np.median(b)))
    relative = change / base if base and base >= floor else None
    spread = max(np.ptp(b), np.ptp(a))
    noisy = bool(spread > abs(change)) if len(b) > 1 or len(a) > 1 else False
    p_value = mann_whitney_p(b, a) if len(b) > 1 and len(a) > 1 else None
    mdc = minimum_detectable_change(b, a)
    if min(len(b), len(a)) < MIN_REPEATS:
        return Difference(float(np.median(b)), float(np.median(a)), change, relative, None,
                          p_value, "too few repeats", noisy, mdc)
    verdict: Verdict = "no significant change"
    if p_value is not None and p_value < ALPHA:
        verdict = "worse" if change > 0 else "better"
    return Difference(float(np.median(b)), float(np.median(a)), change, relative,
                      _bootstrap_ci(b, a), p_value, verdict, noisy, mdc)


# (z_{1-alpha/2} + z_{power}) * sqrt(pi/3): 2.8016 * 1.0233 = 2.867
_MDC_FACTOR = (stats.norm.ppf(1 - ALPHA / 2) + stats.norm.ppf(POWER)) * math.sqrt(math.pi / 3)
# What the exact test needs beyond the normal approximation, by repeats on the smaller side
# (simulated; see minimum_detectable_change), and from 8 a side on.
_EXACT_TEST_CORRECTION = {4: 1.42, 5: 1.28, 6: 1.18, 7: 1.18}
_LARGE_DESIGN_CORRECTION = 1.10


def minimum_detectable_change(before: Sequence[float], after: Sequence[float]) -> float | None:
    """The smallest true shift of the median that this design would find significant with the
    gate's test (two-sided Mann-Whitney U, alpha 0.05) 80% of the time, in the metric's unit.

    Method: the normal approximation of a two-sample test's power, with the Mann-Whitney
    correction for its asymptotic relative efficiency against the t test (3/pi under normal
    errors, so the spread is scaled by sqrt(pi/3)):

        MDC = (z_0.975 + z_0.80) * s * sqrt(1/n_before + 1/n_after) * sqrt(pi/3)
            = 2.867 * s * sqrt(1/n_before + 1/n_after)

    `s` is the pooled standard deviation of the two sides' repeats. Not the MAD: with 4 repeats
    it ignores one wild repeat a side, yet a single wild repeat is what costs an exact rank test
    at 4 a side its significance (p < 0.05 there needs the two sides wholly apart); and it is 0
    whenever half the values tie at the CSVs' 1 KiB resolution, claiming any change is visible.

    The approximation alone is optimistic at the smallest designs, where the exact test is
    coarse: by simulation with normal errors and the exact test (bisection on the shift, 600
    draws a step), 80% power took 1.41x the approximation at 4 a side, 1.27x at 5, 1.16x at 6,
    1.18x at 7 and 1.07-1.10x from 8 to 12. `_EXACT_TEST_CORRECTION` applies those factors
    (rounded up, by the smaller side), so the figure keeps its promise at every design.
    None under `MIN_REPEATS` a side, where no change of any size can be significant; 0 when
    every repeat agrees, where any change would be.
    """
    b, a = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    if min(len(b), len(a)) < MIN_REPEATS:
        return None
    correction = _EXACT_TEST_CORRECTION.get(min(len(b), len(a)), _LARGE_DESIGN_CORRECTION)
    return float(correction * _MDC_FACTOR * pooled_sd(b, a)
                 * math.sqrt(1 / len(b) + 1 / len(a)))


def pooled_sd(before: np.ndarray, after: np.ndarray) -> float:
    """The between-repeat standard deviation both sides share, each weighted by its degrees of
    freedom (the sides may differ in level, which is the change, but are assumed equally noisy)."""
    squares = np.sum((before - before.mean()) ** 2) + np.sum((after - after.mean()) ** 2)
    return float(math.sqrt(squares / (len(before) + len(after) - 2)))


def mann_whitney_p(before: np.ndarray, after: np.ndarray) -> float:
    """Two-sided Mann-Whitney U p-value from the permutation distribution: exact for the
    handful of repeats a run has (252 arrangements at 5 a side), Monte Carlo past 9,999."""
    method = stats.PermutationMethod(n_resamples=9_999, rng=np.random.default_rng(0))
    return float(stats.mannwhitneyu(after, before, alternative="two-sided",
                                    method=method).pvalue)


def _bootstrap_ci(before: np.ndarray, after: np.ndarray) -> tuple[float, float]:
    if np.ptp(before) == 0 and np.ptp(after) == 0:
        change = float(after[0] - before[0])
        return change, change
    result = stats.bootstrap(
        (before, after), lambda b, a, axis=-1: np.median(a, axis=axis) - np.median(b, axis=axis),
        n_resamples=2000, method="percentile", rng=np.random.default_rng(0))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)
