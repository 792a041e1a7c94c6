"""The CI gate: absolute limits and significant regressions. Pure; callable without argv.

A regression fails the gate only when it is both significant (exact Mann-Whitney U, at 0.05
split over the gated metrics and the looks of a sequential run: `judging/levels.py`) and
larger than the threshold; a change over the threshold that is not significant is
`inconclusive` (rerun with more repeats), so a noisy runner does not fail pull requests at random.
The gate never passes what it did not measure: runs that are not comparable are refused (exit 2)
unless the difference is named as intended, and too few repeats make every regression check
inconclusive (exit 3).

Each regression check also states the minimum detectable change (MDC) of the comparison; where
the threshold's change is smaller than it, the detail says the run could not have detected a
change of that size, so a pass there is no evidence of no regression. It does not change the
outcome: more repeats, not a stricter rule, make such a run informative.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from session_store_harness.errors import (
    EXIT_FAILED,
    EXIT_INCONCLUSIVE,
    EXIT_OK,
    HarnessError,
)
from session_store_harness.judging.catalog import BY_NAME, DEFAULT_REGRESSION_METRICS
from session_store_harness.judging.compare import (
    ASPECTS,
    Comparison,
    MetricComparison,
    compare_runs,
)
from session_store_harness.judging.levels import describe_level, level_for, planned_looks
from session_store_harness.judging.metrics import values_of
from session_store_harness.judging.stats import min_repeats
from session_store_harness.model.run import Run

Outcome = Literal["pass", "fail", "inconclusive"]
EXIT_CODES: dict[Outcome, int] = {"pass": EXIT_OK, "fail": EXIT_FAILED,
                                  "inconclusive": EXIT_INCONCLUSIVE}


NO_CHECKS = ("no checks: give --max-peak-rss-mb, --max-growth-mb-per-cycle or --max-regression "
             "(or [tool.harness.gate] in pyproject.toml)")


@dataclass(frozen=True)
class GateLimits:
    """What the candidate must meet; None leaves a check out."""

    max_peak_rss_mb: float | None = None
    max_growth_mb_per_cycle: float | None = None
    max_regression: float | None = None  # a fraction: 0.10 for 10%
    metrics: tuple[str, ...] = DEFAULT_REGRESSION_METRICS
    allow_different: tuple[str, ...] = ()  # setup differences the user means to compare

    def __post_init__(self) -> None:
        unknown = [m for m in self.metrics if m not in BY_NAME]
        if unknown:
            raise HarnessError(f"unknown gate metric(s) {', '.join(unknown)}; known: "
                               f"{', '.join(BY_NAME)}")
        if self.max_regression is not None and not 0 <= self.max_regression < 10:
            raise HarnessError(f"max-regression must be a fraction such as 10%, got "
                               f"{self.max_regression}")
        odd = [key for key in self.allow_different if key not in ASPECTS]
        if odd:
            raise HarnessError(f"--allow-different takes {', '.join(ASPECTS)}; got "
                               f"{', '.join(odd)}")


@dataclass(frozen=True)
class Check:
    """One check's figures, limit and outcome. `id` is stable across versions, for scripts."""

    id: str
    name: str
    value: float | None
    limit: float | None
    unit: str
    outcome: Outcome
    detail: str = ""
    comparison: MetricComparison | None = None  # for regression checks


@dataclass(frozen=True)
class GateResult:
    checks: tuple[Check, ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = ()  # caveats that did not change the outcome
    # what each run measured, by role (candidate, then baseline if any), as `describe_store`
    stores: tuple[tuple[str, str], ...] = ()

    @property
    def outcome(self) -> Outcome:
        outcomes = {check.outcome for check in self.checks}
        return "fail" if "fail" in outcomes else (
            "inconclusive" if "inconclusive" in outcomes else "pass")

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.outcome]


def evaluate(candidate: Run, limits: GateLimits, baseline: Run | None = None) -> GateResult:
    """Judge a candidate run against limits and, if given, a baseline run."""
    _require_complete(candidate, "candidate")
    checks: list[Check] = []
    for metric, limit in (("peak_rss_mb", limits.max_peak_rss_mb),
                          ("growth_mb_per_cycle", limits.max_growth_mb_per_cycle)):
        if limit is not None:
            checks.append(_ceiling(candidate, metric, limit))
    notes: tuple[str, ...] = ()
    if limits.max_regression is not None:
        if baseline is None:
            raise HarnessError("--max-regression needs --baseline")
        _require_complete(baseline, "baseline")
        comparison = comparable(baseline, candidate, limits.allow_different,
                                gate_level(limits, baseline, candidate))
        checks += _regressions(comparison, limits)
        notes = (*comparison.warnings, describe_level(len(limits.metrics),
                                                      planned_looks(baseline, candidate)))
    if not checks:
        raise HarnessError(NO_CHECKS)
    stores = (("candidate", candidate.config.describe_store()),
              *((("baseline", baseline.config.describe_store()),) if baseline else ()))
    return GateResult(tuple(checks), notes, stores)


def gate_level(limits: GateLimits, baseline: Run, candidate: Run) -> float:
    """Each regression test's level: 0.05 split over the gated metrics and the runs' looks."""
    return level_for(len(limits.metrics), planned_looks(baseline, candidate))


def comparable(baseline: Run, candidate: Run, allowed: Iterable[str] = (),
               alpha: float | None = None) -> Comparison:
    """The comparison, or a usage error naming every setup difference not allowed."""
    comparison = compare_runs(baseline, candidate, alpha)
    unintended = comparison.unintended(allowed)
    if unintended:
        raise HarnessError("runs are not comparable: " + "; ".join(
            m.describe() for m in unintended) + ". Rerun on equal terms, or name an intended "
            "difference with --allow-different " + ",".join(m.key for m in unintended))
    return comparison


def _require_complete(run: Run, role: str) -> None:
    if not run.complete:
        raise HarnessError(f"{run.folder}: {role} run is {run.status}; rerun it")


def _ceiling(run: Run, metric: str, limit: float) -> Check:
    info = BY_NAME[metric]
    values = values_of(run, metric)
    if not values:
        raise HarnessError(f"{run.folder}: no {info.label} figures in the run")
    value = statistics.median(values)
    return Check(f"limit.{metric}", f"{info.label} (median of {len(values)})", value, limit,
                 info.unit, "pass" if value <= limit else "fail")


def _regressions(comparison: Comparison, limits: GateLimits) -> list[Check]:
    missing = [m for m in limits.metrics if comparison.get(m) is None]
    if missing:
        raise HarnessError(f"cannot compare {', '.join(missing)}: no figures in one run, or "
                           "the runs measured heap differently (tracing changes timings)")
    return [_regression(comparison.get(m), limits.max_regression) for m in limits.metrics]


def _regression(row: MetricComparison, threshold: float) -> Check:
    info, diff = row.metric, row.difference
    outcome, why = regression_outcome(row, threshold)
    # a failure was detected, so only a pass or an inconclusive check can hide a blind spot
    blind = "" if outcome == "fail" else _blind_spot(row, threshold)
    reasons = "; ".join(reason for reason in (why, blind) if reason)
    p = "n/a" if diff.p_value is None else f"{diff.p_value:.3f}"
    relative = "n/a" if diff.relative is None else f"{diff.relative:+.1%}"
    mdc = "n/a" if diff.mdc is None else f"{diff.mdc:.3f} {info.unit}"
    detail = (f"{diff.before_median:.3f} -> {diff.after_median:.3f} {info.unit}, {relative}, "
              f"p={p}, {diff.verdict}" + (", noisy" if diff.noisy else "") + f", MDC {mdc}"
              + (f" ({reasons})" if reasons else ""))
    value = scaled_change(row) * 100
    return Check(f"regression.{info.name}", f"{info.label} regression", value, threshold * 100,
                 "%", outcome, detail, row)


def threshold_change(row: MetricComparison, threshold: float) -> float:
    """The change, in the metric's unit, that the threshold allows: `threshold` of the baseline,
    or of the metric's floor when the baseline is under it (as `scaled_change` scales)."""
    return threshold * max(abs(row.difference.before_median), row.metric.floor)


def _blind_spot(row: MetricComparison, threshold: float) -> str:
    """Why a pass may mean nothing: the run was too noisy, or had too few repeats, to detect a
    change as large as the threshold. Said, not acted on: the outcome rule stays as it is."""
    mdc, info = row.difference.mdc, row.metric
    allowed = threshold_change(row, threshold)
    if mdc is None or mdc <= allowed:
        return ""
    base = "baseline" if abs(row.difference.before_median) >= info.floor else "the floor"
    return (f"the run could not detect a {threshold * 100:+g}% change: MDC {mdc:.3f} "
            f"{info.unit} > {threshold * 100:g}% of {base} {allowed:.3f} {info.unit}; "
            "add repeats")


def scaled_change(row: MetricComparison) -> float:
    """The change as a fraction of the baseline, or of the metric's floor when the baseline is
    under it: a worsening from (near) zero is never counted as no change."""
    diff = row.difference
    return diff.change / max(abs(diff.before_median), row.metric.floor)


def regression_outcome(row: MetricComparison, threshold: float) -> tuple[Outcome, str]:
    diff = row.difference
    if diff.verdict == "too few repeats":
        return "inconclusive", (f"fewer than {min_repeats(diff.alpha)} repeats a side cannot "
                                f"be significant at p < {diff.alpha:.4g}")
    why = "" if diff.relative is not None else (
        f"baseline under {row.metric.floor:g} {row.metric.unit}: change scaled by that floor")
    if scaled_change(row) <= threshold:
        return "pass", why
    if diff.significant and diff.change > 0:
        return "fail", why
    return "inconclusive", why or "over the threshold but not significant: rerun with more " \
                                  "repeats"
