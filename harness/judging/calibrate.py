"""How often the gate fails a change that is not there, and catches one that is. Pure judge.

A/A trials (the same code on both sides, or the same code under a different environment): any
gate failure is a false fail. Planted regressions (`padded`: `snapshot` plus a resident block):
a gate failure is a detection. Rates come with Clopper-Pearson 95% intervals; each trial also
keeps the minimum detectable change (MDC) the gate reported, the repeats a side it used and its
wall time, and its verdict under the fixed design of the first `FIXED_REPEATS` repeats a side,
so an adaptive run and the fixed one can be compared from the same workers.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

from scipy import stats

from session_store_harness.judging.gate import GateLimits, Outcome, evaluate
from session_store_harness.model.run import Run

FIXED_REPEATS = 5  # the design the adaptive runs are compared with: `--repeat 5`, one look


@dataclass(frozen=True)
class Rate:
    """`hits` out of `trials`, with an exact binomial 95% interval."""

    hits: int
    trials: int

    @property
    def value(self) -> float:
        return self.hits / self.trials if self.trials else 0.0

    @property
    def ci95(self) -> tuple[float, float]:
        if not self.trials:
            return 0.0, 1.0  # nothing measured: every rate is possible
        interval = stats.binomtest(self.hits, self.trials).proportion_ci(0.95, "exact")
        return float(interval.low), float(interval.high)

    def describe(self) -> str:
        low, high = self.ci95
        return f"{self.hits}/{self.trials} = {self.value:.0%} (95% CI {low:.0%}-{high:.0%})"


def pad_kb_for(baseline_rss_mb: float, regression: float) -> int:
    """The block that makes a run `regression` (a fraction) larger than the baseline's RSS."""
    return max(1, round(baseline_rss_mb * regression * 1024))


@dataclass(frozen=True)
class MetricVerdict:
    """One gated metric's check in one trial: its outcome and the minimum detectable change
    (MDC) the gate reported, in the metric's unit and as a fraction of the baseline (of the
    metric's floor under it, as the gate scales changes)."""

    outcome: Outcome
    mdc: float | None
    mdc_relative: float | None
    # whether the check's interval of the change held 0 (None: no interval), and its level:
    # in A/A trials, where the true change is 0, it must hold it at least that often
    covers_zero: bool | None = None
    interval_level: float | None = None


@dataclass(frozen=True)
class Verdict:
    """The gate's outcome on one trial, and each gated metric's part in it."""

    outcome: Outcome
    metrics: dict[str, MetricVerdict]


@dataclass(frozen=True)
class Trial:
    """One interleaved A/B run of one kind, judged by the gate."""

    number: int
    kind: str
    verdict: Verdict
    repeats: int  # a side, as measured (more than asked when the run was adaptive)
    wall_s: float  # measuring and judging, from the start of the A/B run to its verdict
    fixed: Outcome | None = None  # first FIXED_REPEATS a side; None with fewer
    fixed_wall_s: float | None = None  # estimated from the trial's own repeats' wall times


def judge(before: Run, after: Run, limits: GateLimits) -> Verdict:
    """The gate's verdict on `after` against `before`, with the MDC of each regression check."""
    result = evaluate(after, limits, before)
    metrics = {}
    for check in result.checks:
        if check.comparison is not None:
            row = check.comparison
            base = max(abs(row.difference.before_median), row.metric.floor)
            mdc = row.difference.mdc
            interval = row.difference.interval
            metrics[row.metric.name] = MetricVerdict(
                check.outcome, mdc, None if mdc is None else mdc / base,
                None if interval is None else interval[0] <= 0 <= interval[1],
                1 - row.difference.alpha)
    return Verdict(result.outcome, metrics)


def first_repeats(run: Run, count: int = FIXED_REPEATS) -> Run | None:
    """`run` as if it had stopped after its first `count` repeats (a fixed design with one
    look), or None when it has fewer."""
    if len(run.repeats) < count:
        return None
    return replace(run, repeats=run.repeats[:count], config=replace(run.config, repeat=count),
                   interleaved_order=_order_prefix(run.interleaved_order, count),
                   planned_looks=1, max_repeat=None)


def _order_prefix(order: Sequence[str], count: int) -> tuple[str, ...]:
    """The interleaved order up to each side's `count`-th repeat."""
    seen: Counter[str] = Counter()
    kept = []
    for side in order:
        seen[side] += 1
        if seen[side] <= count:
            kept.append(side)
    return tuple(kept)


def fixed_wall_s(wall_s: float, repeat_s: dict[str, Sequence[float]],
                 count: int = FIXED_REPEATS) -> float:
    """The trial's wall time had each side stopped at `count` repeats: the time outside the
    workers (store, folders, judging) plus the first `count` workers' times a side. An
    estimate: the workers were measured, the work around them is assumed not to change."""
    overhead = wall_s - sum(sum(times) for times in repeat_s.values())
    return overhead + sum(sum(times[:count]) for times in repeat_s.values())


@dataclass(frozen=True)
class MetricSummary:
    """One gated metric over all trials of a kind: how often its check failed or was
    inconclusive, and the median MDC (unit, fraction of the baseline)."""

    fails: int
    inconclusive: int
    mdc: float | None
    mdc_relative: float | None
    covers_zero: Rate | None = None  # trials whose interval held 0, of those with one
    interval_level: float | None = None  # the lowest level the intervals claimed


@dataclass(frozen=True)
class KindSummary:
    """All trials of one kind: the fail rate and what each verdict cost."""

    kind: str
    fails: Rate
    inconclusive: int
    metrics: dict[str, MetricSummary]
    repeats_median: float
    repeats_max: int
    wall_s_median: float
    fixed: Rate | None  # the same trials, first FIXED_REPEATS a side; None if none had them
    fixed_inconclusive: int
    fixed_wall_s_median: float | None  # estimated


def summarize(kind: str, trials: Sequence[Trial]) -> KindSummary:
    """`trials` (all of one kind, at least one) summed up."""
    fixed = [t for t in trials if t.fixed is not None]
    return KindSummary(
        kind=kind, fails=Rate(sum(t.verdict.outcome == "fail" for t in trials), len(trials)),
        inconclusive=sum(t.verdict.outcome == "inconclusive" for t in trials),
        metrics=_metric_summaries(trials),
        repeats_median=statistics.median(t.repeats for t in trials),
        repeats_max=max(t.repeats for t in trials),
        wall_s_median=statistics.median(t.wall_s for t in trials),
        fixed=Rate(sum(t.fixed == "fail" for t in fixed), len(fixed)) if fixed else None,
        fixed_inconclusive=sum(t.fixed == "inconclusive" for t in fixed),
        fixed_wall_s_median=statistics.median(t.fixed_wall_s for t in fixed) if fixed else None)


def _metric_summaries(trials: Sequence[Trial]) -> dict[str, MetricSummary]:
    names = dict.fromkeys(name for t in trials for name in t.verdict.metrics)
    summaries = {}
    for name in names:
        checks = [t.verdict.metrics[name] for t in trials if name in t.verdict.metrics]
        with_interval = [c for c in checks if c.covers_zero is not None]
        summaries[name] = MetricSummary(
            fails=sum(c.outcome == "fail" for c in checks),
            inconclusive=sum(c.outcome == "inconclusive" for c in checks),
            mdc=_median([c.mdc for c in checks]),
            mdc_relative=_median([c.mdc_relative for c in checks]),
            covers_zero=Rate(sum(bool(c.covers_zero) for c in with_interval),
                             len(with_interval)) if with_interval else None,
            interval_level=min((c.interval_level for c in with_interval
                                if c.interval_level is not None), default=None))
    return summaries


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None
