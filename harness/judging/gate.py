"""The CI gate: absolute limits and significant regressions. Pure; callable without argv.

A regression fails the gate only when it is both significant (Mann-Whitney U, p < 0.05) and
larger than the threshold; a change over the threshold that is not significant is
`inconclusive` (rerun with more repeats), so a noisy runner does not fail pull requests at random.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from session_store_harness.errors import HarnessError
from session_store_harness.judging.compare import MetricComparison, compare_runs
from session_store_harness.judging.metrics import BY_NAME, repeat_metrics, values_of
from session_store_harness.model.result_folder import RunData

Outcome = Literal["pass", "fail", "inconclusive"]
EXIT_CODES: dict[Outcome, int] = {"pass": 0, "fail": 1, "inconclusive": 3}
DEFAULT_REGRESSION_METRICS = ("rss_last_mb", "kernel_peak_rss_mb", "cycle_ms_median")


@dataclass(frozen=True)
class GateLimits:
    """What the candidate must meet; None leaves a check out."""

    max_peak_rss_mb: float | None = None
    max_growth_mb_per_cycle: float | None = None
    max_regression: float | None = None  # a fraction: 0.10 for 10%
    metrics: tuple[str, ...] = DEFAULT_REGRESSION_METRICS

    def __post_init__(self) -> None:
        unknown = [m for m in self.metrics if m not in BY_NAME]
        if unknown:
            raise HarnessError(f"unknown gate metric(s) {', '.join(unknown)}; known: "
                               f"{', '.join(BY_NAME)}")
        if self.max_regression is not None and not 0 <= self.max_regression < 10:
            raise HarnessError(f"max-regression must be a fraction such as 10%, got "
                               f"{self.max_regression}")


@dataclass(frozen=True)
class Check:
    """One check's figure, limit and outcome."""

    name: str
    value: float | None
    limit: float | None
    unit: str
    outcome: Outcome
    detail: str = ""


@dataclass(frozen=True)
class GateResult:
    checks: tuple[Check, ...] = field(default_factory=tuple)

    @property
    def outcome(self) -> Outcome:
        outcomes = {check.outcome for check in self.checks}
        return "fail" if "fail" in outcomes else (
            "inconclusive" if "inconclusive" in outcomes else "pass")

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.outcome]


def evaluate(candidate: RunData, limits: GateLimits, baseline: RunData | None = None,
             ) -> GateResult:
    """Judge a candidate run against limits and, if given, a baseline run."""
    if not candidate.complete:
        raise HarnessError(f"{candidate.folder}: candidate run is incomplete; rerun it")
    checks: list[Check] = []
    table = repeat_metrics(candidate)
    for metric, limit in (("kernel_peak_rss_mb", limits.max_peak_rss_mb),
                          ("growth_mb_per_cycle", limits.max_growth_mb_per_cycle)):
        if limit is not None:
            checks.append(_ceiling(candidate, table, metric, limit))
    if limits.max_regression is not None:
        if baseline is None:
            raise HarnessError("--max-regression needs --baseline")
        if not baseline.complete:
            raise HarnessError(f"{baseline.folder}: baseline run is incomplete; rerun it")
        comparison = compare_runs(baseline, candidate)
        missing = [m for m in limits.metrics if comparison.get(m) is None]
        if missing:
            raise HarnessError(f"cannot compare {', '.join(missing)}: no figures in one run, or "
                               "the runs measured heap differently (tracing changes timings)")
        checks += [_regression(comparison.get(m), limits.max_regression)
                   for m in limits.metrics]
    if not checks:
        raise HarnessError("no checks: give --max-peak-rss-mb, --max-growth-mb-per-cycle or "
                           "--max-regression (or [tool.harness.gate] in pyproject.toml)")
    return GateResult(tuple(checks))


def _ceiling(run: RunData, table: pd.DataFrame, metric: str, limit: float) -> Check:
    info = BY_NAME[metric]
    values = values_of(table, metric)
    if not values:
        raise HarnessError(f"{run.folder}: no {info.label} figures in the run")
    value = float(np.median(values))
    return Check(f"{info.label} (median of {len(values)})", value, limit, info.unit,
                 "pass" if value <= limit else "fail")


def _regression(row: MetricComparison, threshold: float) -> Check:
    info, diff = row.metric, row.difference
    relative = diff.relative if diff.relative is not None else 0.0
    if relative <= threshold:
        outcome: Outcome = "pass"
    elif diff.significant and diff.change > 0:
        outcome = "fail"
    else:
        outcome = "inconclusive"
    p = "n/a" if diff.p_value is None else f"{diff.p_value:.3f}"
    detail = (f"{diff.before_median:.3f} -> {diff.after_median:.3f} {info.unit}, "
              f"{relative:+.1%}, p={p}, {diff.verdict}"
              + (", noisy" if diff.noisy else ""))
    return Check(f"{info.label} regression", relative * 100, threshold * 100, "%", outcome,
                 detail)
