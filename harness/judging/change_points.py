"""Steps in a metric across commits, found by `ruptures` (Pelt search, least-squares cost). Pure.

A history point is one commit's median over its repeats. A *step* is a change of level that
holds: the series is split into segments of constant mean, and each split names the first
commit of the new level and the size of the step (median after minus median before).

The search is ruptures' `KernelCPD` with the linear kernel: the least-squares cost of
`Pelt(model="l2")`, searched by Pelt in ruptures' compiled code (the pure-Python `Pelt` took
0.17 s for 200 points and grows as their square; this takes 0.06 s for 5,000).

The penalty decides how much a split must explain to be kept. For a least-squares cost on
Gaussian noise of standard deviation sigma, the Schwarz (BIC) criterion charges each change
2 parameters (where it is, and the new level) at ln(n) sigma^2 each: `2 ln(n) sigma^2`, the
"SIC" penalty Killick, Fearnhead and Eckley (2012) use with Pelt. We charge three times that,
`6 ln(n) sigma^2`, because sigma is estimated from the same short series and is often too small
with a handful of points. Measured on 400 simulated series each (docs/history.md): on pure
Gaussian noise the SIC penalty called a step in 38% of series of 6 points, 33% of 12 and 24% of
30; this one in 8.5%, 4% and 1% (none of 100), while still placing a step of 4 sigma in the
middle exactly in 60%, 84% and 95% of series, and a step of 6 sigma at the newest commit in
67-77%.

sigma is estimated from the series itself, robustly: the median absolute deviation of
successive differences, divided by 0.6745 and by sqrt(2) (a difference of two points carries
the noise of both), so a step, which is one large difference, hardly moves it. It is floored
at the metric's floor (1 MB, 0.5 ms), but never above 5% of the series' median (a workload of
0.3 ms cycles must still show a 4x slowdown), and at 1% of the series' median: a series
flatter than the harness's resolution would otherwise make every wiggle of 0.01 MB a step.
The false-step rates above hold at the simulated noise (sigma 2 on a level of 100); noisier
or heavy-tailed series call more false steps (about 17% of 6-commit series at sigma 3-5, and
15-17% with t(3) noise, in a reviewer's simulation): a step named on few commits is a lead to
look at, not a verdict.

A segment may be one commit long, so a step at the newest commit is named at once (and a
one-commit blip shows as a step up and a step back down, each at its own commit); the next
commits tell whether it held.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from session_store_harness.judging.catalog import BY_NAME
from session_store_harness.model.history import HistoryRecord

MIN_SEGMENT = 1
MIN_POINTS = 5  # fewer: a split leaves too little on each side to tell a step from noise
FLOOR_SHARE = 0.05  # the metric's floor, at most this share of the series' level
RELATIVE_NOISE_FLOOR = 0.01  # of the series' median
MAD_TO_SIGMA = 1 / 0.6745  # the MAD of Gaussian noise is 0.6745 sigma
PENALTY_FACTOR = 6  # 2 ln(n) sigma^2 per change (BIC: location + level), tripled (above)


@dataclass(frozen=True)
class Step:
    """A change of level: `index` is the first point of the new level."""

    index: int
    before: float  # median of the segment before
    after: float  # median of the segment from `index` on

    @property
    def size(self) -> float:
        return self.after - self.before

    @property
    def percent(self) -> float | None:
        return None if self.before == 0 else 100 * self.size / abs(self.before)


@dataclass(frozen=True)
class Detection:
    """What the detector found in one series, and the settings it found it with."""

    points: int
    steps: tuple[Step, ...]
    sigma: float | None  # None with too few points
    penalty: float | None

    @property
    def enough(self) -> bool:
        return self.sigma is not None


def noise_sigma(values: Sequence[float], floor: float) -> float:
    """The series' noise, robust to its steps, never below `floor` (capped at 5% of the
    series' level) or 1% of its level."""
    diffs = [b - a for a, b in itertools.pairwise(values)]
    centre = statistics.median(diffs)
    mad = statistics.median(abs(d - centre) for d in diffs)
    robust = MAD_TO_SIGMA * mad / math.sqrt(2)
    level = abs(statistics.median(values))
    return max(robust, min(floor, FLOOR_SHARE * level), RELATIVE_NOISE_FLOOR * level)


def penalty(points: int, sigma: float) -> float:
    return PENALTY_FACTOR * math.log(points) * sigma**2


def detect_steps(values: Sequence[float], floor: float) -> Detection:
    """The steps in `values` (oldest first); with fewer than MIN_POINTS, none are looked for."""
    if len(values) < MIN_POINTS:
        return Detection(len(values), (), None, None)
    import numpy as np
    import ruptures

    sigma = noise_sigma(values, floor)
    pen = penalty(len(values), sigma)
    signal = np.asarray(values, dtype=float).reshape(-1, 1)
    search = ruptures.KernelCPD(kernel="linear", min_size=MIN_SEGMENT).fit(signal)
    # each segment's exclusive end, the last being len(values)
    bounds = [0, *(int(end) for end in search.predict(pen=pen))]
    steps = tuple(Step(start, statistics.median(values[before:start]),
                       statistics.median(values[start:after]))
                  for before, start, after in zip(bounds, bounds[1:], bounds[2:], strict=False))
    return Detection(len(values), steps, sigma, pen)


def levels(values: Sequence[float], detection: Detection) -> list[float]:
    """The fitted level (its segment's median) at each point."""
    bounds = [0, *(s.index for s in detection.steps), len(values)]
    out: list[float] = []
    for start, end in itertools.pairwise(bounds):
        out += [statistics.median(values[start:end])] * (end - start)
    return out


# ---- a history -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Excluded:
    """A record left out of detection, and why: it cannot be set beside the newest."""

    record: HistoryRecord
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class MetricSeries:
    """One metric over the comparable records that have it, and what was found in it."""

    metric: str
    records: tuple[HistoryRecord, ...]
    values: tuple[float, ...]
    detection: Detection

    @property
    def label(self) -> str:
        return BY_NAME[self.metric].label

    @property
    def unit(self) -> str:
        return BY_NAME[self.metric].unit


@dataclass(frozen=True)
class HistoryJudgement:
    """A history judged: the records compared, those excluded, and each metric's steps."""

    records: tuple[HistoryRecord, ...]  # every record shown, oldest first
    comparable: tuple[HistoryRecord, ...]
    excluded: tuple[Excluded, ...]
    series: tuple[MetricSeries, ...]

    @property
    def newest(self) -> HistoryRecord:
        return self.records[-1]


def judge_history(records: Sequence[HistoryRecord], metrics: Sequence[str]) -> HistoryJudgement:
    """Steps in each of `metrics`, over the records comparable with the newest: the same
    workload and environment fingerprints. A mixed series is never judged as one."""
    if not records:
        from session_store_harness.errors import HarnessError

        raise HarnessError("the history holds no records")
    newest = records[-1]
    comparable, excluded = [], []
    for record in records:
        reasons = tuple(why for why, same in (
            ("another workload", record.workload_fingerprint == newest.workload_fingerprint),
            ("another environment",
             record.environment_fingerprint == newest.environment_fingerprint)) if not same)
        if reasons:
            excluded.append(Excluded(record, reasons))
        else:
            comparable.append(record)
    series = []
    for metric in metrics:
        points = [(r, v) for r in comparable if (v := r.value(metric)) is not None]
        values = tuple(v for _, v in points)
        series.append(MetricSeries(metric, tuple(r for r, _ in points), values,
                                   detect_steps(values, BY_NAME[metric].floor)))
    return HistoryJudgement(tuple(records), tuple(comparable), tuple(excluded), tuple(series))
