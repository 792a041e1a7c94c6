"""Calibration's pure parts: rates, the fixed-5 view of a run, the trial kinds and their sides."""

from __future__ import annotations

from dataclasses import replace

import pytest

from session_store_harness.commands.calibrate import KIND_NAMES
from session_store_harness.errors import HarnessError
from session_store_harness.judging.calibrate import (
    MetricVerdict,
    Rate,
    Trial,
    Verdict,
    first_repeats,
    fixed_wall_s,
    judge,
    pad_kb_for,
    summarize,
)
from session_store_harness.judging.gate import GateLimits
from session_store_harness.measuring.calibration import (
    KINDS,
    CalibrationConfig,
    ab_plan,
    calibration_config,
    parse_plants,
)
from tests.fakes import fake_run

LIMITS = GateLimits(max_regression=0.01, metrics=("rss_steady_mb", "peak_rss_mb"))
OPTIONS = dict(threshold="1%", metrics="rss_steady_mb", kinds="aa,aa-layout,plants",
               plants="1%,5%", plant_kb=512, noise="none", noise_workers=1, noise_mb=64)


def test_rates_carry_exact_binomial_intervals() -> None:
    assert Rate(0, 20).ci95 == pytest.approx((0.0, 0.168), abs=0.001)
    assert Rate(19, 20).describe() == "19/20 = 95% (95% CI 75%-100%)"
    assert Rate(0, 0).ci95 == (0.0, 1.0)  # nothing measured: nothing excluded


def test_a_plant_is_sized_from_the_baseline_in_kib() -> None:
    assert pad_kb_for(20.0, 0.01) == 205 and pad_kb_for(20.0, 0.05) == 1024


def test_first_repeats_is_the_run_stopped_after_five_a_side() -> None:
    # GIVEN a run of 7 repeats measured interleaved with another (ABBA...)
    run = fake_run("before", [20.0, 21.0], 10.0, 22.0, repeats=7, jitter=0.1)
    order = ("before", "after", "after", "before") * 3 + ("before", "after")
    run = replace(run, interleaved_order=order)
    # WHEN it is cut to the fixed design
    fixed = first_repeats(run)
    # THEN it is complete with its first 5 repeats, and its order stops at each side's 5th
    assert fixed is not None and fixed.complete and fixed.config.repeat == 5
    assert fixed.repeats == run.repeats[:5]
    assert fixed.interleaved_order.count("before") == 5 == fixed.interleaved_order.count("after")
    assert fixed.interleaved_order == order[:10]
    assert first_repeats(fake_run("short", [20.0, 21.0], 10.0, 21.0, repeats=4)) is None


def test_judge_reports_the_gate_outcome_and_each_metrics_mdc() -> None:
    before = fake_run("before", [20.0, 20.0], 10.0, 21.0, repeats=5, jitter=0.01)
    after = fake_run("after", [21.0, 21.0], 10.0, 22.0, repeats=5, jitter=0.01)
    regressed = judge(before, after, LIMITS)
    assert regressed.outcome == "fail"
    assert set(regressed.metrics) == {"rss_steady_mb", "peak_rss_mb"}
    steady = regressed.metrics["rss_steady_mb"]
    assert steady.outcome == "fail" and steady.mdc is not None and steady.mdc > 0
    assert steady.mdc_relative == pytest.approx(steady.mdc / 20.02, rel=0.01)
    # the interval of a 1 MB change excludes 0; the same run against itself holds it
    assert steady.covers_zero is False and steady.interval_level == pytest.approx(0.975)
    same = judge(before, before, LIMITS)
    assert same.outcome == "pass" and same.metrics["rss_steady_mb"].covers_zero is True


def test_fixed_wall_time_keeps_the_overhead_and_the_first_five_workers_a_side() -> None:
    # 20 s in all: 18 s in workers (six of 1 s, six of 2 s), 2 s around them
    assert fixed_wall_s(20.0, {"before": [1.0] * 6, "after": [2.0] * 6}) == pytest.approx(17.0)


def trial(number: int, outcome: str, fixed: str | None, mdc: float = 0.1) -> Trial:
    check = MetricVerdict(outcome, mdc, mdc / 20, covers_zero=outcome != "fail",
                          interval_level=0.95 + number / 100)
    return Trial(number, "aa", Verdict(outcome, {"rss_steady_mb": check}), repeats=5 + number,
                 wall_s=float(number), fixed=fixed, fixed_wall_s=None if fixed is None else 1.0)


def test_a_kinds_summary_counts_every_outcome_once() -> None:
    trials = [trial(1, "pass", "pass", 0.1), trial(2, "fail", "inconclusive", 0.3),
              trial(3, "inconclusive", None, 0.2)]
    summary = summarize("aa", trials)
    assert (summary.fails.hits, summary.fails.trials, summary.inconclusive) == (1, 3, 1)
    assert (summary.repeats_median, summary.repeats_max, summary.wall_s_median) == (7, 8, 2.0)
    assert summary.fixed == Rate(0, 2) and summary.fixed_inconclusive == 1
    steady = summary.metrics["rss_steady_mb"]
    assert (steady.fails, steady.inconclusive, steady.mdc) == (1, 1, 0.2)
    assert steady.mdc_relative == pytest.approx(0.01)
    # the intervals held 0 in the two trials that did not fail; the lowest level is claimed
    assert steady.covers_zero == Rate(2, 3) and steady.interval_level == pytest.approx(0.96)


def test_the_command_offers_the_kinds_the_library_runs() -> None:
    assert KIND_NAMES == KINDS


def test_trial_kinds_and_the_environment_each_side_gets() -> None:
    config = calibration_config(trials=1, **OPTIONS)
    kinds = {kind.name: kind for kind in config.trial_kinds()}
    assert list(kinds) == ["aa", "aa-layout", "plant-1%", "plant-5%", "plant-512KB"]
    # A/A layout: the variable on the after side alone, the difference under test
    layout = ab_plan(config, kinds["aa-layout"], None, 1)
    assert (layout.before.store, layout.after.store) == ("snapshot", "padded")
    assert (layout.before.env, layout.after.env) == ((), (("HARNESS_PAD_KB", "0"),))
    # a plant: the same variable on both sides, so only the block differs
    plant = ab_plan(config, kinds["plant-512KB"], 512, 1)
    assert plant.before.env == plant.after.env == (("HARNESS_PAD_KB", "512"),)
    assert plant.before.reuse_loaded_store and plant.after.reuse_loaded_store
    assert plant.before.generate == plant.after.generate


def test_plants_parse_as_shares_or_none() -> None:
    assert parse_plants("1%,5%") == (0.01, 0.05) and parse_plants("none") == ()
    for bad in ("x", "150%"):
        with pytest.raises(HarnessError, match="--plants"):
            calibration_config(trials=1, **{**OPTIONS, "plants": bad})


def test_max_repeat_reaches_the_plan_and_an_unworkable_design_is_refused() -> None:
    config = calibration_config(trials=1, max_repeat=10, **{**OPTIONS, "repeat": 6})
    plan = ab_plan(config, config.trial_kinds()[0], None, 1)
    assert plan.max_repeat == 10 and plan.limits == config.limits
    # a design whose first look can never be significant is refused before any trial runs
    with pytest.raises(HarnessError, match="can never be significant"):
        calibration_config(trials=1, max_repeat=12, **{**OPTIONS, "repeat": 4})


def test_max_repeat_under_repeat_is_refused() -> None:
    with pytest.raises(HarnessError, match="--max-repeat must be between 5"):
        CalibrationConfig(limits=LIMITS, repeat=5, max_repeat=3)
