"""The gate's rules on runs with known figures: it never passes what it did not measure."""

from __future__ import annotations

import pytest

from session_store_harness.errors import HarnessError
from session_store_harness.judging.gate import GateLimits, evaluate
from session_store_harness.settings.gate_config import gate_limits
from tests.fakes import fake_run

GROWTH = ("growth_mb_per_cycle",)


def test_a_worsening_from_a_zero_baseline_fails_instead_of_passing() -> None:
    # GIVEN a flat baseline (growth 0 MB/cycle) and a candidate growing 5 MB/cycle, 5 repeats
    flat = fake_run("flat", [20.0] * 6, 10, 21, repeats=5, jitter=0.01)
    growing = fake_run("grow", [20.0 + 50 * i for i in range(6)], 10, 300, repeats=5,
                       jitter=0.01)
    # WHEN gated at 5% on growth
    result = evaluate(growing, GateLimits(max_regression=0.05, metrics=GROWTH), flat)
    # THEN the undefined percentage does not count as no change
    check = result.checks[0]
    assert check.outcome == "fail" and result.exit_code == 1
    assert check.id == "regression.growth_mb_per_cycle"
    assert "baseline under 0.1 MB/cycle" in check.detail


def test_a_tiny_change_from_a_zero_baseline_passes() -> None:
    flat = fake_run("flat", [20.0] * 6, 10, 21, repeats=5, jitter=0.01)
    same = fake_run("same", [20.0, 20.0, 20.0, 20.0, 20.0, 20.001], 10, 21, repeats=5,
                    jitter=0.01)
    assert evaluate(same, GateLimits(max_regression=0.05, metrics=GROWTH), flat).outcome \
        == "pass"


def test_too_few_repeats_are_inconclusive_never_a_pass() -> None:
    one = fake_run("base", [20.0, 21.0], 10, 22)
    five = fake_run("cand", [20.0, 21.0], 10, 22, repeats=5, jitter=0.01)
    result = evaluate(five, GateLimits(max_regression=0.05), one)
    assert result.outcome == "inconclusive" and result.exit_code == 3
    assert all("fewer than 5 repeats a side cannot be significant at p < 0.01667" in c.detail
               for c in result.checks)


@pytest.mark.parametrize(("changes", "key"), [
    ({"sha": "other"}, "store-file"),
    ({"runtime": "node"}, "runtime"),
    ({"heap_measure": "tracemalloc"}, "heap"),
])
def test_runs_that_are_not_comparable_are_refused_unless_allowed(changes: dict,
                                                                 key: str) -> None:
    base = fake_run("base", [20.0, 21.0], 10, 22, repeats=5, jitter=0.01)
    other = fake_run("cand", [20.0, 21.0], 10, 22, repeats=5, jitter=0.01, **changes)
    limits = GateLimits(max_regression=0.05, metrics=("rss_last_mb",))
    with pytest.raises(HarnessError, match=f"not comparable.*--allow-different {key}") as err:
        evaluate(other, limits, base)
    assert err.value.exit_code == 2
    allowed = GateLimits(max_regression=0.05, metrics=("rss_last_mb",), allow_different=(key,))
    assert evaluate(other, allowed, base).outcome == "pass"


def test_different_cycle_counts_are_not_comparable() -> None:
    base = fake_run("base", [20.0, 21.0, 22.0], 10, 22, repeats=5, jitter=0.01)
    short = fake_run("cand", [20.0, 21.0], 10, 22, repeats=5, jitter=0.01)
    with pytest.raises(HarnessError, match="the cycle count differs \\(20 vs 10\\)"):
        evaluate(short, GateLimits(max_regression=0.05), base)


def test_the_default_regression_metrics_judge_steady_rss_peak_and_time() -> None:
    # RSS at the last cycle is a random point on the allocator's sawtooth: not a default
    defaults = ("rss_steady_mb", "peak_rss_mb", "cycle_ms_median")
    assert GateLimits().metrics == defaults
    assert gate_limits({}, max_regression="10%").metrics == defaults
    base = fake_run("base", [20.0, 21.0], 10, 22, repeats=5, jitter=0.01)
    cand = fake_run("cand", [20.0, 21.0], 10, 22, repeats=5, jitter=0.01)
    result = evaluate(cand, GateLimits(max_regression=0.05), base)
    assert [c.id for c in result.checks] == [f"regression.{m}" for m in defaults]
    # AND RSS at the last cycle can still be named
    assert GateLimits(metrics=("rss_last_mb",)).metrics == ("rss_last_mb",)


def test_a_pass_the_run_could_not_have_failed_says_so_and_stays_a_pass() -> None:
    # GIVEN 4 repeats a side spread over 15 MB (sd 6.5) around 110 MB, and no change
    base = fake_run("base", [100.0, 100.0], 10, 120, repeats=4, jitter=5)
    same = fake_run("same", [100.0, 100.0], 10, 120, repeats=4, jitter=5)
    result = evaluate(same, GateLimits(max_regression=0.05, metrics=("rss_steady_mb",)), base)
    check = result.checks[0]
    # THEN MDC = 1.42 (exact test at 4 a side) * 2.867 * 6.455 * sqrt(1/2) = 18.6 MB, over 5%
    # of the 107.5 MB baseline
    mdc = check.comparison.difference.mdc
    assert mdc == pytest.approx(1.42 * 2.867 * 6.455 * 0.5**0.5, rel=1e-3)
    assert check.outcome == "pass"
    assert check.detail.endswith(
        f"MDC {mdc:.3f} MB (the run could not detect a +5% change: MDC {mdc:.3f} MB > 5% of "
        "baseline 5.375 MB; add repeats)")


def test_an_inconclusive_check_gives_both_reasons() -> None:
    # GIVEN a noisy +10% change with 4 repeats a side: over the 5% threshold, not significant
    base = fake_run("base", [100.0, 100.0], 10, 120, repeats=4, jitter=5)
    worse = fake_run("worse", [100.0, 110.75], 10, 130, repeats=4, jitter=5)
    check = evaluate(worse, GateLimits(max_regression=0.05, metrics=("rss_steady_mb",)),
                     base).checks[0]
    assert check.outcome == "inconclusive"
    assert "(over the threshold but not significant: rerun with more repeats; the run could " \
           "not detect a +5% change: MDC " in check.detail


def test_a_quiet_run_or_a_failure_has_no_blind_spot_note() -> None:
    base = fake_run("base", [100.0, 100.0], 10, 120, repeats=4, jitter=0.1)
    limits = GateLimits(max_regression=0.05, metrics=("rss_steady_mb",))
    quiet = evaluate(fake_run("same", [100.0, 100.0], 10, 120, repeats=4, jitter=0.1), limits,
                     base).checks[0]
    assert quiet.outcome == "pass" and "could not detect" not in quiet.detail
    assert ", MDC 0.3" in quiet.detail  # 1.42 * 2.867 * 0.129 * sqrt(1/2) = 0.37 MB
    # a failure was detected, whatever the MDC
    noisy = fake_run("noisy", [100.0, 100.0], 10, 120, repeats=4, jitter=5)
    leak = fake_run("leak", [100.0, 150.0], 10, 170, repeats=4, jitter=5)
    failed = evaluate(leak, limits, noisy).checks[0]
    assert failed.outcome == "fail" and "could not detect" not in failed.detail


def test_too_few_repeats_have_no_mdc() -> None:
    one = fake_run("base", [20.0, 21.0], 10, 22)
    check = evaluate(one, GateLimits(max_regression=0.05, metrics=("rss_steady_mb",)),
                     one).checks[0]
    assert check.comparison.difference.mdc is None and ", MDC n/a (fewer than 4" in check.detail
