"""Deltas, caveats and the report, on runs with known figures."""

from __future__ import annotations

import json

import pytest

from session_store_harness.judging.compare import compare_runs
from session_store_harness.writers.comparison_json import comparison_json
from session_store_harness.writers.report import comparison_report, headline
from session_store_harness.writers.table import markdown_table, text_table
from tests.fakes import fake_run


def test_deltas_on_known_figures() -> None:
    # docs/store-behaviour.md, "The figures": 1236.6 -> 890.5 MB at cycle 50
    before = fake_run("before", [668.7, 877.6, 1004.7, 1109.8, 1214.1, 1236.6], 240, 1250)
    after = fake_run("after", [662.1, 740.7, 778.6, 815.9, 853.2, 890.5], 180, 900)
    comparison = compare_runs(before, after)
    last = comparison.get("rss_last_mb").difference
    assert last.change == pytest.approx(-346.1)
    assert last.relative == pytest.approx(-0.28, abs=0.001)
    assert comparison.get("peak_rss_mb").difference.change == pytest.approx(-350)
    # least-squares slope over cycles 10..50 of the before figures
    assert comparison.get("growth_mb_per_cycle").difference.before_median == pytest.approx(
        9.274, abs=0.001)
    assert comparison.get("cycle_ms_median").difference.after_median == pytest.approx(180)
    assert last.verdict == "too few repeats" and last.p_value is None
    # the steady RSS is the median of the second half's samples (cycles 30, 40 and 50)
    steady = comparison.get("rss_steady_mb").difference
    assert (steady.before_median, steady.after_median) == pytest.approx((1214.1, 853.2))
    # one repeat a side tells no change, however large: the headline does not claim one
    assert headline(comparison).startswith(
        "Too few repeats to tell a change in steady RSS (median, 2nd half) or median time per "
        "cycle (1 before, 1 after")
    # AND no detectable change is claimed either
    assert steady.mdc is None


def test_significance_needs_repeats_and_flags_noise() -> None:
    # GIVEN 5 repeats a side with a small spread and a clear change
    before = fake_run("b", [100, 110], 50, 120, repeats=5, jitter=0.5)
    after = fake_run("a", [100, 120], 50, 130, repeats=5, jitter=0.5)
    clear = compare_runs(before, after).get("rss_last_mb").difference
    assert clear.verdict == "worse" and clear.p_value < 0.05 and not clear.noisy
    assert clear.change == pytest.approx(10) and clear.interval[0] > 0
    # GIVEN a spread between repeats larger than the change
    noisy = compare_runs(fake_run("b", [100, 110], 50, 120, repeats=5, jitter=10),
                         fake_run("a", [100, 111], 50, 121, repeats=5, jitter=10))
    row = noisy.get("rss_last_mb").difference
    assert row.noisy and row.verdict == "no significant change"
    assert any(w.startswith("noisy:") for w in noisy.warnings)


def test_traced_and_untraced_timings_are_never_compared() -> None:
    before = fake_run("a", [100, 110], 100, 120)
    after = fake_run("b", [100, 105], 400, 110, heap_measure="tracemalloc", sha="other",
                     status="failed")
    comparison = compare_runs(before, after)
    assert not any("time" in row.metric.label for row in comparison.metrics)
    text = " ".join(comparison.warnings)
    described = [m.describe() for m in comparison.mismatches]
    assert "the heap measure differs (allocator vs tracemalloc)" in described
    assert "the store file (SHA-256) differs (abc vs other)" in described
    assert {m.key for m in comparison.mismatches} == {"store-file", "heap"}
    assert "incomplete" in text
    report = comparison_report(comparison, ["rss_vs_cycle.png"])
    assert "⚠️" in report and "![rss_vs_cycle.png](rss_vs_cycle.png)" in report


def test_tables_share_one_helper() -> None:
    assert text_table(("a", "bb"), [(1, 2.25), (10, None)]).splitlines() == [
        " a   bb", " 1  2.2", "10    -"]
    assert markdown_table(("x", "y"), [("r", 1.0)]) == "| x | y |\n| --- | ---: |\n| r | 1.0 |"


def test_report_fits_a_github_comment_however_long_the_runs() -> None:
    # GIVEN runs with 3,000 sample rows and 30 repeats each
    rss = [100.0 + i * 0.01 for i in range(3000)]
    before = fake_run("before", rss, 50, 200, repeats=30, jitter=0.1)
    after = fake_run("after", [v * 1.1 for v in rss], 55, 220, repeats=30, jitter=0.1)
    report = comparison_report(compare_runs(before, after), ["rss_vs_cycle.png"])
    # THEN the report stays under the limit and keeps its headline, deltas and plots
    assert len(report) <= 60_000
    assert "Steady RSS (median, 2nd half) rose from" in report and "## Deltas" in report
    assert "![rss_vs_cycle.png](rss_vs_cycle.png)" in report
    assert "(left out: too long for one comment" in report
    # AND the on-screen samples table is thinned to first..last
    samples = report.split("## Samples (median across repeats)")[1].split("## Plots")[0]
    assert 20 <= samples.count("\n| ") <= 24 and "| 29990 |" in samples


def test_tiny_limit_still_cuts_cleanly() -> None:
    before = fake_run("b", [1.0, 2.0], 5, 3)
    report = comparison_report(compare_runs(before, before), [], max_chars=500)
    assert len(report) <= 500 and report.endswith("see the run folders)")


def test_comparison_json_carries_each_metrics_mdc() -> None:
    before = fake_run("b", [100, 110], 50, 120, repeats=4, jitter=5)
    after = fake_run("a", [100, 110], 50, 120, repeats=4, jitter=5)
    comparison = compare_runs(before, after)
    rows = {row["metric"]: row for row in json.loads(comparison_json(comparison))["metrics"]}
    assert rows["rss_steady_mb"]["label"] == "steady RSS (median, 2nd half)"
    assert rows["rss_steady_mb"]["mdc"] == pytest.approx(
        comparison.get("rss_steady_mb").difference.mdc)
    assert rows["rss_steady_mb"]["mdc"] == pytest.approx(1.42 * 2.867 * 6.455 * 0.5**0.5,
                                                         rel=1e-3)
    assert "mdc" in rows["rss_last_mb"]
