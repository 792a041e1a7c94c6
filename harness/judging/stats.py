"""Statistics on small samples of repeats. Pure functions; scipy does the mathematics."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

ALPHA = 0.05
POWER = 0.80  # the chance a true change of the minimum detectable size is found significant
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
    interval: tuple[float, float] | None  # (1 - alpha) interval of the shift (`shift_interval`)
    p_value: float | None  # Mann-Whitney U, two-sided
    verdict: Verdict
    noisy: bool  # the spread between repeats is larger than the change
    mdc: float | None = None  # minimum detectable change; None when nothing can be significant
    alpha: float = ALPHA  # the level the verdict was tested at

    @property
    def significant(self) -> bool:
        return self.verdict in ("better", "worse")


def difference(before: Sequence[float], after: Sequence[float],
               floor: float = 0.0, alpha: float = ALPHA) -> Difference:
    """Compare two sets of per-repeat values with tests suited to a handful of repeats.

    Mann-Whitney U needs no normality; its p-value comes from the exact permutation
    distribution (ties included: scipy's normal approximation gives p = 0.047 for 3 tied
    values a side, where the exact p is 0.1). A verdict is `better` or `worse` when p < `alpha`:
    0.05 for one metric in one look, less where several metrics or looks share that risk
    (`judging/levels.py`). Repeats with which no change could reach `alpha` (fewer than 4 a
    side at 0.05: the smallest two-sided p at 3 and 3 is 0.1) get neither a verdict nor an
    interval.
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
    mdc = minimum_detectable_change(b, a, alpha)
    if not can_be_significant(len(b), len(a), alpha):
        return Difference(float(np.median(b)), float(np.median(a)), change, relative, None,
                          p_value, "too few repeats", noisy, mdc, alpha)
    verdict: Verdict = "no significant change"
    if p_value is not None and p_value < alpha:
        verdict = "worse" if change > 0 else "better"
    return Difference(float(np.median(b)), float(np.median(a)), change, relative,
                      shift_interval(b, a, alpha), p_value, verdict, noisy, mdc, alpha)


def under_margin_p(before: Sequence[float], after: Sequence[float], margin: float) -> float:
    """One-sided exact Mann-Whitney p of "after is less than `margin` above before": small when
    the repeats show the change stays under the margin (a pass that is evidence, not absence
    of evidence). Tested as a shift: `after - margin` against `before`, alternative `less`."""
    b, a = np.asarray(before, dtype=float), np.asarray(after, dtype=float) - margin
    method = stats.PermutationMethod(n_resamples=9_999, rng=np.random.default_rng(0))
    return float(stats.mannwhitneyu(a, b, alternative="less", method=method).pvalue)


def smallest_p(n_before: int, n_after: int) -> float:
    """The smallest two-sided p the exact Mann-Whitney test can give with these repeats: both
    sides wholly apart, 2 of the C(n_b + n_a, n_b) equally likely arrangements."""
    return min(1.0, 2 / math.comb(n_before + n_after, n_before))


def can_be_significant(n_before: int, n_after: int, alpha: float = ALPHA) -> bool:
    return n_before > 1 and n_after > 1 and smallest_p(n_before, n_after) < alpha


def min_repeats(alpha: float = ALPHA) -> int:
    """The fewest repeats a side (equal sides) with which a change can be significant at
    `alpha`: 4 at 0.05, 5 at 0.0167 (0.05 over three metrics), 6 at 0.0042."""
    return next(n for n in range(2, 64) if can_be_significant(n, n, alpha))


MIN_REPEATS = min_repeats(ALPHA)


def minimum_detectable_change(before: Sequence[float], after: Sequence[float],
                              alpha: float = ALPHA) -> float | None:
    """The smallest true shift that this design would find significant with the gate's test
    (two-sided exact Mann-Whitney U at `alpha`) 80% of the time, in the metric's unit.

    MDC = d * s, where `s` is the pooled standard deviation of the two sides' repeats and `d`
    the shift, in standard deviations, at which the exact test at this design and level has 80%
    power under normal errors (`detectable_shift`, simulated). Not the normal approximation:
    at a handful of repeats the exact test is coarse (at 4 a side and 0.05 it needs 1.41x the
    approximation's shift), and at the Bonferroni-split levels a gate tests at, coarser still.
    Not the MAD either: with 4 repeats it ignores one wild repeat a side, yet a single wild
    repeat is what costs an exact rank test its significance; and it is 0 whenever half the
    values tie at the CSVs' 1 KiB resolution, claiming any change is visible.

    None when no change of any size can be significant at `alpha` with these repeats; 0 when
    every repeat agrees, where any change would be.
    """
    b, a = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    if not can_be_significant(len(b), len(a), alpha):
        return None
    return float(detectable_shift(len(b), len(a), alpha) * pooled_sd(b, a))


_DRAWS = 4000  # simulated designs per shift: the power is known to about +-0.6%


@functools.cache
def detectable_shift(n_before: int, n_after: int, alpha: float = ALPHA,
                     power: float = POWER) -> float:
    """The shift, in standard deviations of normal errors, that the exact two-sided
    Mann-Whitney test at `alpha` finds `power` of the time with these repeats.

    Every shift is tried on the same seeded draws, so the answer is a fixed number and power is
    monotone in the shift; bisection finds it to 0.1% of a standard deviation.
    """
    rejects = _rejection_region(n_before, n_after, alpha)
    rng = np.random.default_rng(0)
    b, a = rng.standard_normal((_DRAWS, n_before)), rng.standard_normal((_DRAWS, n_after))

    def power_at(shift: float) -> float:
        u = ((a[:, :, None] + shift) > b[:, None, :]).sum(axis=(1, 2))
        return float(rejects[u].mean())

    low, high = 0.0, 1.0
    while power_at(high) < power:
        low, high = high, high * 2
    while high - low > 1e-3:
        middle = (low + high) / 2
        low, high = (middle, high) if power_at(middle) < power else (low, middle)
    return high


@functools.cache
def _rejection_region(n_before: int, n_after: int, alpha: float) -> np.ndarray:
    """For each value of U (0..n_b*n_a), whether the exact two-sided test rejects at `alpha`:
    U's null distribution (no ties) counted by the usual recursion over the last element."""
    counts = _u_counts(n_before, n_after)
    pmf = counts / counts.sum()
    below, above = np.cumsum(pmf), np.cumsum(pmf[::-1])[::-1]
    return np.minimum(1.0, 2 * np.minimum(below, above)) < alpha


@functools.cache
def _u_counts(n: int, m: int) -> np.ndarray:
    """How many of the C(n+m, n) arrangements give each U = 0..n*m."""
    if n == 0 or m == 0:
        return np.ones(1)
    # the largest value is from the second sample (adds n to U) or from the first (adds 0)
    counts = np.zeros(n * m + 1)
    counts[n:] += _u_counts(n, m - 1)
    counts[:(n - 1) * m + 1] += _u_counts(n - 1, m)
    return counts


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


def shift_interval(before: Sequence[float], after: Sequence[float],
                   alpha: float = ALPHA) -> tuple[float, float] | None:
    """The distribution-free (1 - alpha) interval of the shift after - before that inverts the
    Mann-Whitney test (Moses; Hollander & Wolfe): the k-th smallest and k-th largest of the
    n*m pairwise differences, k from U's exact null distribution. Its coverage is at least
    1 - alpha whenever the repeats are exchangeable but for the shift (interleaved, each in its
    own layout), at any number of repeats, where a bootstrap of 5 values covers far less than
    it claims; and it excludes 0 exactly when the test is significant (ties aside). None when
    no interval that narrow exists (too few repeats for `alpha`)."""
    b, a = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    counts = _u_counts(len(b), len(a))
    cdf = np.cumsum(counts / counts.sum())
    k = int(np.count_nonzero(cdf <= alpha / 2 + 1e-12))
    if k == 0:
        return None
    differences = np.sort((a[:, None] - b[None, :]).ravel())
    return float(differences[k - 1]), float(differences[-k])
