"""The sequential design's rules and the levels the gate tests at, on runs with known figures."""

from __future__ import annotations

from dataclasses import replace

import pytest

from session_store_harness.errors import HarnessError
from session_store_harness.judging.gate import GateLimits, evaluate
from session_store_harness.judging.levels import describe_level, level_for
from session_store_harness.judging.sequential import (
    Look,
    check_design,
    judge_look,
    look_points,
)
from session_store_harness.judging.stats import min_repeats, under_margin_p
from tests.fakes import fake_run

STEADY = ("rss_steady_mb",)


def runs(before_mb: float, after_mb: float, repeats: int, jitter: float = 0.01):
    return (fake_run("before", [before_mb] * 6, 10, before_mb + 1, repeats=repeats,
                     jitter=jitter),
            fake_run("after", [after_mb] * 6, 10, after_mb + 1, repeats=repeats,
                     jitter=jitter))


def test_levels_split_the_five_percent_over_metrics_and_looks() -> None:
    assert level_for() == 0.05
    assert level_for(3) == pytest.approx(0.05 / 3)
    assert level_for(3, 4) == pytest.approx(0.05 / 12)
    assert "3 metrics x 4 planned looks" in describe_level(3, 4)
    # and so the fewest repeats a side that can ever be significant grows with them
    assert [min_repeats(level_for(m, k)) for m, k in ((1, 1), (3, 1), (3, 4), (3, 10))] == [
        4, 5, 6, 7]


def test_looks_come_at_every_abba_block_and_at_the_most() -> None:
    assert look_points(6, 12) == (6, 8, 10, 12)
    assert look_points(5, 10) == (5, 7, 9, 10)
    assert look_points(5, 5) == (5,)


def test_a_design_that_can_never_be_significant_is_refused_before_it_runs() -> None:
    limits = GateLimits(max_regression=0.05)
    with pytest.raises(HarnessError, match=r"--repeat 5 can never be significant.*--repeat 6"):
        check_design(limits, 5, 12)  # 3 metrics x 4 looks: p < 0.0042 needs 6 a side
    with pytest.raises(HarnessError, match="needs --max-regression"):
        check_design(GateLimits(), 6, 12)
    with pytest.raises(HarnessError, match="below --repeat"):
        check_design(limits, 6, 4)
    check_design(limits, 6, 12)


def test_a_shift_shown_under_the_margin_and_one_that_is_not() -> None:
    before = [10.0, 10.1, 10.2, 10.3, 10.4]
    # after 0.1 above before, margin 1.0: wholly under it, the smallest one-sided p (1/252)
    assert under_margin_p(before, [v + 0.1 for v in before], 1.0) == pytest.approx(1 / 252)
    # after 2.0 above: no evidence at all of staying under a margin of 1.0
    assert under_margin_p(before, [v + 2.0 for v in before], 1.0) > 0.9


def test_a_clear_regression_settles_the_gate_at_the_first_look() -> None:
    before, after = runs(20.0, 22.0, repeats=6)  # +10% in every repeat
    look = judge_look(before, after, GateLimits(max_regression=0.01, metrics=STEADY), looks=4)
    assert look.clarity == {"rss_steady_mb": "fail"} and look.clear and look.repeats == 6


def test_no_change_well_under_the_threshold_is_a_clear_pass() -> None:
    before, after = runs(20.0, 20.0, repeats=6)
    look = judge_look(before, after, GateLimits(max_regression=0.05, metrics=STEADY), looks=4)
    assert look.clarity == {"rss_steady_mb": "pass"} and look.clear


def test_a_change_near_the_threshold_stays_open() -> None:
    # +1% in steady RSS with a 1% threshold: neither shown over nor shown under it
    before, after = runs(20.0, 20.2, repeats=6, jitter=0.2)
    look = judge_look(before, after, GateLimits(max_regression=0.01, metrics=STEADY), looks=4)
    assert look.clarity == {"rss_steady_mb": "open"} and not look.clear


def test_one_clear_fail_is_enough_but_a_pass_needs_every_metric() -> None:
    before, after = runs(20.0, 22.0, repeats=6, jitter=0.01)
    limits = GateLimits(max_regression=0.05, metrics=("rss_steady_mb", "cycle_ms_median"))
    look = judge_look(before, after, limits, looks=1)
    assert look.clarity["rss_steady_mb"] == "fail" and look.clear
    # the rule itself: a fail settles the gate whatever else is open; a pass does not
    assert Look(6, {"a": "fail", "b": "open"}).clear
    assert not Look(6, {"a": "pass", "b": "open"}).clear
    assert Look(6, {"a": "pass", "b": "pass"}).clear


def test_the_gate_spends_its_level_over_a_sequential_runs_planned_looks() -> None:
    # GIVEN a +10% change whose exact p at 5 a side is 0.0079
    before, after = runs(20.0, 22.0, repeats=5)
    limits = GateLimits(max_regression=0.05, metrics=STEADY)
    # THEN measured with a fixed design it fails (0.0079 < 0.05) ...
    assert evaluate(after, limits, before).outcome == "fail"
    # ... but as one of 10 planned looks (p < 0.005 needed) the same figures cannot
    looked = [replace(run, planned_looks=10, max_repeat=23) for run in (before, after)]
    result = evaluate(looked[1], limits, looked[0])
    assert result.outcome == "inconclusive"
    assert any("10 planned looks" in note for note in result.notes)
