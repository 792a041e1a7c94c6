"""How a cost grows with the store: the slope of log(cost) on log(size), with its interval. Pure.

A cost that follows `c * size ** k` is a straight line of slope `k` on log-log axes: `k = 1` is a
cost that doubles when the store doubles (linear), `k = 0` one the store's size does not change
(constant), `k = 0.5` one that grows as the square root. The slope is fitted by least squares
over every repeat's value (not the medians: the repeats' spread is what the interval is made
of), and its interval is Student's t on n - 2 degrees of freedom, the textbook interval of a
regression slope (scipy's `linregress` gives the slope's standard error).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

from session_store_harness.judging.metrics import values_of
from session_store_harness.model.sweep_folder import Sweep

LEVEL = 0.95


@dataclass(frozen=True)
class GrowthFit:
    """A fitted growth exponent, or why there is none (`exponent` None, `reason` says why).

    `interval` is None where a slope was fitted but no interval can be (two points: no
    degrees of freedom left)."""

    exponent: float | None
    interval: tuple[float, float] | None
    sizes: int  # distinct store sizes the fit used
    points: int  # (size, value) pairs the fit used: every repeat at every size
    reason: str | None = None
    level: float = LEVEL

    @property
    def fitted(self) -> bool:
        return self.exponent is not None


def growth_exponent(sizes: Sequence[float], values: Sequence[float | None],
                    level: float = LEVEL) -> GrowthFit:
    """The slope of log(value) on log(size) over the pairs; values that are missing, zero or
    negative have no logarithm and are left out (and said so when that leaves too few)."""
    pairs = [(float(s), float(v)) for s, v in zip(sizes, values, strict=True)
             if v is not None and s > 0 and v > 0 and math.isfinite(v)]
    distinct = len({s for s, _ in pairs})
    if distinct < 2:
        dropped = len(sizes) - len(pairs)
        why = f"{distinct} size(s) with a positive figure; a slope needs 2 or more"
        return GrowthFit(None, None, distinct, len(pairs),
                         why + (f" ({dropped} value(s) missing or <= 0)" if dropped else ""),
                         level)
    logs_x = [math.log(s) for s, _ in pairs]
    logs_y = [math.log(v) for _, v in pairs]
    fit = stats.linregress(logs_x, logs_y)
    slope = float(fit.slope)
    return GrowthFit(slope, _interval(slope, float(fit.stderr), len(pairs), level), distinct,
                     len(pairs), None, level)


def _interval(slope: float, stderr: float, points: int,
              level: float) -> tuple[float, float] | None:
    if points < 3 or not math.isfinite(stderr):
        return None
    half = float(stats.t.ppf(0.5 + level / 2, points - 2)) * stderr
    return slope - half, slope + half


# ---- a sweep's growth, per line ---------------------------------------------------------------

TIME_METRIC, PEAK_METRIC = "cycle_ms_median", "peak_rss_mb"
HEAP_METRICS = ("heap_peak_mb", "heap_last_mb")


@dataclass(frozen=True)
class SeriesGrowth:
    """One line of a sweep (a store, with or without reuse, under one workload) and how each of
    its metrics grows with the store."""

    series: str
    workload: str
    fits: dict[str, GrowthFit]  # by metric name


def sweep_metrics(sweep: Sweep) -> tuple[str, str, str]:
    """Per-cycle time, peak RSS, and the heap: the traced heap's peak within cycles where every
    cell has one (`--heap tracemalloc`: the whole store parsed is in it), else the live heap at
    the last cycle, which every heap measure gives."""
    peak_everywhere = all(values_of(cell.run, HEAP_METRICS[0]) for cell in sweep.cells)
    return TIME_METRIC, PEAK_METRIC, HEAP_METRICS[0 if peak_everywhere else 1]


def sweep_growth(sweep: Sweep, metrics: Sequence[str] | None = None) -> tuple[SeriesGrowth, ...]:
    """Each line's exponent for each metric, fitted over every repeat of every size (x: the
    store file's exact size in bytes)."""
    metrics = tuple(metrics or sweep_metrics(sweep))
    lines = []
    for series, workload in sweep.series:
        cells = sweep.cells_of(series, workload)
        fits = {}
        for metric in metrics:
            sizes, values = [], []
            for cell in cells:
                repeat_values = values_of(cell.run, metric)
                sizes += [cell.size_bytes] * len(repeat_values)
                values += repeat_values
            fits[metric] = growth_exponent(sizes, values)
        lines.append(SeriesGrowth(series, workload, fits))
    return tuple(lines)
