"""calibration.json: per kind of trial, the gate's fail rate and what a verdict cost, every trial's
figures, and the settings and noise they were measured under."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from session_store_harness.judging.calibrate import (
    FIXED_REPEATS,
    KindSummary,
    MetricVerdict,
    Rate,
)
from session_store_harness.judging.catalog import BY_NAME
from session_store_harness.measuring.calibration import CalibrationResult
from session_store_harness.model.redaction import redact_argv

SCHEMA_VERSION = 2  # 2: interleaved A/B trials of several kinds, noise, MDC, fixed-5 figures


def calibration_json(result: CalibrationResult, argv: Sequence[str] | None = None) -> str:
    """The calibration's figures; `argv`, when given, recorded with its secrets blanked."""
    config = result.config
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION, "trials": result.trials_done,
        "config": {
            "trials": config.trials, "repeat": config.repeat, "max_repeat": config.max_repeat,
            "cycles": config.cycles, "target_kb": config.target_kb, "profile": config.profile,
            "threshold": config.limits.max_regression, "metrics": list(config.limits.metrics),
            "kinds": list(config.kinds), "plants": list(config.plants),
            "plant_kb": config.plant_kb, "layout_seed": result.layout_seed},
        "noise": {**asdict(config.noise), "burners": [asdict(b) for b in result.burners]},
        "baseline_rss_steady_mb": _round(result.baseline_rss_mb),
        "allowed_different": list(result.allowed),
        "by_kind": {s.kind: _summary(result, s) for s in result.summaries()},
        "fixed_wall_s_is_estimate": True,  # from the trials' own workers' times
        "trial_log": [{"trial": t.number, "kind": t.kind, "outcome": t.verdict.outcome,
                       "repeats_a_side": t.repeats, "wall_s": round(t.wall_s, 3),
                       f"fixed_{FIXED_REPEATS}": t.fixed,
                       f"fixed_{FIXED_REPEATS}_wall_s_estimate": _round(t.fixed_wall_s),
                       "metrics": {name: _check(name, check)
                                   for name, check in t.verdict.metrics.items()}}
                      for t in result.trials]}
    if argv is not None:  # the command line is optional: older callers pass none
        data["argv"] = redact_argv(argv)
    return json.dumps(data, indent=2) + "\n"


def _summary(result: CalibrationResult, summary: KindSummary) -> dict[str, Any]:
    kind = result.kind(summary.kind)
    trials = summary.fails.trials
    return {
        "counts_as": "detection" if kind.planted else "false fail",
        "after_store": kind.after_store, "pad_kb": result.pads.get(kind.name),
        "after_only_env": dict(kind.after_only_env),
        "trials": trials, "fail": _rate(summary.fails), "inconclusive": summary.inconclusive,
        "pass": trials - summary.fails.hits - summary.inconclusive,
        "by_metric": {name: {"fails": m.fails, "inconclusive": m.inconclusive,
                             "mdc_median": _round(m.mdc, 4), "unit": BY_NAME[name].unit,
                             "mdc_median_share_of_baseline": _round(m.mdc_relative, 5),
                             "interval_held_zero": None if m.covers_zero is None
                             else _rate(m.covers_zero),
                             "interval_level": _round(m.interval_level, 5)}
                      for name, m in summary.metrics.items()},
        "repeats_a_side": {"median": summary.repeats_median, "max": summary.repeats_max},
        "wall_s_per_verdict_median": round(summary.wall_s_median, 3),
        f"fixed_{FIXED_REPEATS}": None if summary.fixed is None else {
            "fail": _rate(summary.fixed), "inconclusive": summary.fixed_inconclusive,
            "wall_s_per_verdict_median_estimate": _round(summary.fixed_wall_s_median)}}


def _rate(rate: Rate) -> dict[str, Any]:
    return {"hits": rate.hits, "trials": rate.trials, "rate": rate.value,
            "ci95": list(rate.ci95)}


def _check(name: str, check: MetricVerdict) -> dict[str, Any]:
    return {"outcome": check.outcome, "mdc": _round(check.mdc, 4), "unit": BY_NAME[name].unit,
            "mdc_share_of_baseline": _round(check.mdc_relative, 5),
            "interval_held_zero": check.covers_zero,
            "interval_level": _round(check.interval_level, 5)}


def _round(value: float | None, decimals: int = 3) -> float | None:
    return None if value is None else round(value, decimals)
