"""Per-repeat metrics of a run and their summary, computed from the run model in memory. Pure."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from session_store_harness.judging.catalog import BY_NAME, METRICS, TIME_METRICS, Metric
from session_store_harness.judging.stats import ci95_of_mean, slope_per_cycle
from session_store_harness.model.run import MB, Run, Sample, WorkerRun

__all__ = ["BY_NAME", "METRICS", "TIME_METRICS", "Metric", "RunSummary", "summarize",
           "values_in", "values_of"]

SUMMARY_DECIMALS = 3  # the CSVs' resolution: a summary recomputed from a loaded run agrees


def metric_values(repeat: WorkerRun) -> dict[str, float | None]:
    """One repeat's figure for every metric (None where the repeat has no such figure)."""
    samples = repeat.samples
    measured = [s for s in samples if s.cycle > 0]  # cycle 0 precedes the first load
    times = [c.cycle_ms for c in repeat.cycles]
    peak = repeat.peak_rss_bytes
    return {
        "rss_steady_mb": steady_rss_mb(samples),
        "rss_last_mb": samples[-1].rss_bytes / MB if samples else None,
        "peak_rss_mb": None if peak is None else peak / MB,
        "growth_mb_per_cycle": slope_per_cycle([s.cycle for s in measured],
                                               [s.rss_bytes / MB for s in measured]),
        "cycle_ms_median": statistics.median(times) if times else None,
        "cycle_ms_p95": _p95(times),
        "heap_last_mb": samples[-1].heap_bytes / MB if samples else None,
        "heap_peak_mb": heap_peak_mb(measured),
    }


def heap_peak_mb(measured: Sequence[Sample]) -> float | None:
    """The highest traced heap inside the cycles (cycle 0's peak covers start-up and warm-up);
    None where the heap measure keeps no peak."""
    peaks = [s.heap_peak_bytes for s in measured if s.heap_peak_bytes is not None]
    return max(peaks) / MB if peaks else None


def steady_rss_mb(samples: Sequence[Sample]) -> float | None:
    """The median RSS over the samples of the second half of the repeat's cycles (cycle past
    half its last sampled cycle; the last sample alone when no other is that late).

    Why not RSS at the last cycle: once a store has warmed up, RSS follows a sawtooth (the
    allocator takes memory and hands it back in bursts) while the live heap stays flat, so the
    last reading is a random point on it: 77-112 MB for `wholefile` while its heap stayed at
    29.5 MB, and the same comparison gave a 95% interval of [-70.5, -38.5] one run and
    [-53.8, -42.9] the next. The median over the second half sits in the middle of the sawtooth
    whatever phase the last cycle falls on, and skips the first half, where the store is still
    growing to its working size. Stable by construction, so it is the gate's default RSS figure,
    given several samples in the second half: with `--sample-every` near half the cycles it is
    the last reading again.
    """
    if not samples:
        return None
    half = samples[-1].cycle / 2
    late = [s.rss_bytes / MB for s in samples if s.cycle > half] or [samples[-1].rss_bytes / MB]
    return statistics.median(late)


def repeat_metrics(run: Run) -> list[dict[str, float | None]]:
    """Every measured repeat's figures, in repeat order."""
    return [metric_values(repeat) for repeat in run.measured]


def values_of(run: Run, metric: str) -> list[float]:
    """A metric's per-repeat values, repeats without the figure left out."""
    return values_in(repeat_metrics(run), metric)


def values_in(rows: list[dict[str, float | None]], metric: str) -> list[float]:
    """A metric's values in rows `repeat_metrics` made, repeats without the figure left out
    (for a caller that reads many metrics: each repeat's figures are computed once)."""
    return [v for v in (row[metric] for row in rows) if v is not None]


@dataclass(frozen=True)
class MetricSummary:
    """One metric across repeats: every value, their median, a 95% interval of the mean."""

    metric: Metric
    values: tuple[float | None, ...]
    median: float | None
    ci95_of_mean: tuple[float, float] | None  # None with fewer than two values


@dataclass(frozen=True)
class RunSummary:
    """summary.json: the figures of a run, derived from its raw data."""

    repeats: int
    complete: bool
    heap_measure: str | None
    trimmed: bool
    metrics: tuple[MetricSummary, ...]

    def get(self, name: str) -> MetricSummary:
        return next(m for m in self.metrics if m.metric.name == name)


def summarize(run: Run) -> RunSummary:
    rows = repeat_metrics(run)
    return RunSummary(repeats=len(rows), complete=run.complete, heap_measure=run.heap_measure,
                      trimmed=run.config.trim,
                      metrics=tuple(_summary(metric, rows) for metric in METRICS))


def _summary(metric: Metric, rows: list[dict[str, float | None]]) -> MetricSummary:
    values = tuple(_round(row[metric.name]) for row in rows)
    present = [v for v in values if v is not None]
    interval = ci95_of_mean(present)
    return MetricSummary(metric, values,
                         _round(statistics.median(present)) if present else None,
                         None if interval is None else (_round(interval[0]),
                                                        _round(interval[1])))


def _p95(values: list[float]) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    # "inclusive" interpolates between order statistics as numpy's default percentile does
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), SUMMARY_DECIMALS)
