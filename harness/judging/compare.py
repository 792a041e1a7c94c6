"""Before/after differences of two runs, with significance, and the caveats beside them. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from session_store_harness.judging.metrics import (
    METRICS,
    TIME_METRICS,
    Metric,
    repeat_metrics,
    values_of,
)
from session_store_harness.judging.stats import Difference, difference
from session_store_harness.model.result_folder import RunData


@dataclass(frozen=True)
class MetricComparison:
    """One metric in both runs."""

    metric: Metric
    difference: Difference


@dataclass(frozen=True)
class Comparison:
    """Two runs side by side."""

    before: RunData
    after: RunData
    metrics: tuple[MetricComparison, ...]
    warnings: tuple[str, ...]

    def get(self, name: str) -> MetricComparison | None:
        return next((m for m in self.metrics if m.metric.name == name), None)


def heap_measure(run: RunData) -> str | None:
    return run.meta.get("heap_measure")


def comparable_metrics(before: RunData, after: RunData) -> tuple[Metric, ...]:
    """Timings of traced and untraced runs are never compared: tracing slows runs 3-8x."""
    if heap_measure(before) == heap_measure(after):
        return METRICS
    return tuple(m for m in METRICS if m.name not in TIME_METRICS and m.name != "heap_last_mb")


def compare_runs(before: RunData, after: RunData) -> Comparison:
    rows = []
    old_table, new_table = repeat_metrics(before), repeat_metrics(after)
    for metric in comparable_metrics(before, after):
        old, new = values_of(old_table, metric.name), values_of(new_table, metric.name)
        if old and new:
            rows.append(MetricComparison(metric, difference(old, new)))
    return Comparison(before, after, tuple(rows), tuple(_caveats(before, after, rows)))


def _caveats(before: RunData, after: RunData, rows: list[MetricComparison]) -> list[str]:
    warnings = []
    for run in (before, after):
        if not run.complete:
            warnings.append(f"{run.name} is incomplete ({run.meta.get('status')}: "
                            f"{run.meta.get('error')}); its figures stop early")
    if heap_measure(before) != heap_measure(after):
        warnings.append(f"heap measured differently ({heap_measure(before)} vs "
                        f"{heap_measure(after)}): heap and times are left out, since tracing "
                        "slows a run several times")
    trimmed = [bool(run.meta.get("config", {}).get("trim")) for run in (before, after)]
    if trimmed[0] != trimmed[1]:
        warnings.append("only one run trimmed memory (--trim) before each sample: its RSS "
                        "is lower for that reason alone; compare untrimmed_rss_mb")
    if before.meta.get("store", {}).get("sha256") != after.meta.get("store", {}).get("sha256"):
        warnings.append("the two runs measured different store files (SHA-256 differs)")
    if before.last_cycle != after.last_cycle:
        warnings.append(f"the runs end at different cycles ({before.last_cycle} vs "
                        f"{after.last_cycle})")
    for run in (before, after):
        if run.repeats < 4:
            warnings.append(f"{run.name} has {run.repeats} repeat(s): at least 4 a side are "
                            "needed for any change to be significant (use --repeat 5)")
    noisy = [row.metric.label for row in rows if row.difference.noisy]
    if noisy:
        warnings.append("noisy: the spread between repeats is larger than the change for "
                        + ", ".join(noisy))
    return warnings
