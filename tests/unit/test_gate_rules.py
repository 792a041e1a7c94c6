"""The gate's rules on runs with known figures: it never passes what it did not measure."""

from __future__ import annotations

import pytest

from session_store_harness.errors import HarnessError
from session_store_harness.judging.gate import GateLimits, evaluate
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
    assert all("fewer than 4 repeats" in c.detail for c in result.checks)


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
