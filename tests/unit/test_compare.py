"""Deltas, caveats and the report, on runs with known figures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from harness.compare import compare_runs
from harness.results import RunData
from harness.writers.report import comparison_report, headline
from harness.writers.table import markdown_table, text_table


def fake_run(name: str, rss: list[float], cycle_ms: float, peak: float,
             heap_measure: str = "allocator", sha: str = "abc", status: str = "complete",
             repeats: int = 1, jitter: float = 0.0) -> RunData:
    """A run whose figures are known: repeat r adds r * jitter to every RSS and time."""
    cycles = list(range(0, 10 * len(rss), 10))
    samples, per_cycle = [], []
    for r in range(1, repeats + 1):
        shift = (r - 1) * jitter
        samples.append(pd.DataFrame({
            "repeat": r, "cycle": cycles, "rss_mb": [v + shift for v in rss],
            "peak_rss_mb": rss, "heap_mb": 10.0, "external_mb": 1.0, "store_kb": 7600.0,
            "elapsed_ms": [c * cycle_ms for c in cycles]}))
        per_cycle.append(pd.DataFrame({
            "repeat": r, "cycle": range(1, cycles[-1] + 1), "load_ms": cycle_ms / 2,
            "update_ms": cycle_ms / 2, "cycle_ms": cycle_ms + shift, "wrote": 1,
            "reused_base": 0}))
    meta = {"status": status, "complete": status == "complete", "error": None,
            "config": {"label": name, "store": name}, "heap_measure": heap_measure,
            "repeats": [{"repeat": r, "kernel_peak_rss_mb": peak + (r - 1) * jitter}
                        for r in range(1, repeats + 1)],
            "store": {"sha256": sha, "size_bytes": 1}, "environment": {}}
    return RunData(Path(name), meta, pd.concat(samples), pd.concat(per_cycle),
                   pd.DataFrame({"repeat": [1], "time_ms": [0.0], "rss_mb": [rss[0]],
                                 "cycle": [0]}))


def test_deltas_on_known_figures() -> None:
    # CONTEXT.md's headline figures: 1236.6 -> 890.5 MB at cycle 50
    before = fake_run("before", [668.7, 877.6, 1004.7, 1109.8, 1214.1, 1236.6], 240, 1250)
    after = fake_run("after", [662.1, 740.7, 778.6, 815.9, 853.2, 890.5], 180, 900)
    comparison = compare_runs(before, after)
    last = comparison.get("rss_last_mb").difference
    assert last.change == pytest.approx(-346.1)
    assert last.relative == pytest.approx(-0.28, abs=0.001)
    assert comparison.get("kernel_peak_rss_mb").difference.change == pytest.approx(-350)
    # least-squares slope over cycles 10..50 of the before figures
    assert comparison.get("growth_mb_per_cycle").difference.before_median == pytest.approx(
        9.274, abs=0.001)
    assert comparison.get("cycle_ms_median").difference.after_median == pytest.approx(180)
    assert last.verdict == "too few repeats" and last.p_value is None
    assert headline(comparison).startswith(
        "RSS at the last cycle went from 1236.6 MB to 890.5 MB (-346.1 MB, -28.0%)")


def test_significance_needs_repeats_and_flags_noise() -> None:
    # GIVEN 5 repeats a side with a small spread and a clear change
    before = fake_run("b", [100, 110], 50, 120, repeats=5, jitter=0.5)
    after = fake_run("a", [100, 120], 50, 130, repeats=5, jitter=0.5)
    clear = compare_runs(before, after).get("rss_last_mb").difference
    assert clear.verdict == "worse" and clear.p_value < 0.05 and not clear.noisy
    assert clear.change == pytest.approx(10) and clear.ci95[0] > 0
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
    assert "measured differently" in text and "different store files" in text
    assert "incomplete" in text
    report = comparison_report(comparison, ["rss_vs_cycle.png"])
    assert "⚠️" in report and "![rss_vs_cycle.png](rss_vs_cycle.png)" in report


def test_tables_share_one_helper() -> None:
    assert text_table(("a", "bb"), [(1, 2.25), (10, None)]).splitlines() == [
        " a   bb", " 1  2.2", "10    -"]
    assert markdown_table(("x", "y"), [("r", 1.0)]) == "| x | y |\n| --- | ---: |\n| r | 1.0 |"
