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
             heap_measure: str = "allocator", sha: str = "abc",
             status: str = "complete") -> RunData:
    cycles = list(range(0, 10 * len(rss), 10))
    samples = pd.DataFrame({
        "cycle": cycles, "rss_mb": rss, "peak_rss_mb": rss, "heap_mb": [10.0] * len(rss),
        "external_mb": [1.0] * len(rss), "store_kb": [7600.0] * len(rss),
        "elapsed_ms": [c * cycle_ms for c in cycles]})
    per_cycle = pd.DataFrame({"cycle": range(1, cycles[-1] + 1), "load_ms": cycle_ms / 2,
                              "update_ms": cycle_ms / 2, "cycle_ms": cycle_ms, "wrote": 1,
                              "reused_base": 0})
    meta = {"status": status, "complete": status == "complete", "error": None,
            "config": {"label": name, "store": name}, "kernel_peak_rss_mb": peak,
            "store": {"sha256": sha, "size_bytes": 1}, "worker": {"heap_measure": heap_measure},
            "environment": {}}
    return RunData(Path(name), meta, samples, per_cycle,
                   pd.DataFrame({"time_ms": [0.0], "rss_mb": [rss[0]], "cycle": [0]}))


def test_deltas_on_known_figures() -> None:
    # CONTEXT.md's headline figures: 1236.6 -> 890.5 MB at cycle 50
    before = fake_run("before", [668.7, 877.6, 1004.7, 1109.8, 1214.1, 1236.6], 240, 1250)
    after = fake_run("after", [662.1, 740.7, 778.6, 815.9, 853.2, 890.5], 180, 900)
    comparison = compare_runs(before, after)
    by_metric = {d.metric: d for d in comparison.deltas}
    last = by_metric["RSS at last cycle"]
    assert last.change == pytest.approx(-346.1)
    assert last.relative == pytest.approx(-0.28, abs=0.001)
    assert by_metric["peak RSS (kernel)"].change == pytest.approx(-350)
    assert by_metric["RSS growth, first to last sample"].before == pytest.approx(567.9)
    assert by_metric["mean time per cycle"].before == pytest.approx(240)
    assert by_metric["median time per cycle"].after == pytest.approx(180)
    assert comparison.warnings == ()
    assert headline(comparison).startswith(
        "RSS at the last cycle went from 1236.6 MB to 890.5 MB (-346.1 MB, -28.0%)")


def test_traced_and_untraced_timings_are_never_compared() -> None:
    before = fake_run("a", [100, 110], 100, 120)
    after = fake_run("b", [100, 105], 400, 110, heap_measure="tracemalloc", sha="other",
                     status="failed")
    comparison = compare_runs(before, after)
    assert not any("time" in d.metric for d in comparison.deltas)
    text = " ".join(comparison.warnings)
    assert "measured differently" in text and "different store files" in text
    assert "incomplete" in text
    report = comparison_report(comparison, ["rss_vs_cycle.png"])
    assert "⚠️" in report and "![rss_vs_cycle.png](rss_vs_cycle.png)" in report


def test_tables_share_one_helper() -> None:
    assert text_table(("a", "bb"), [(1, 2.25), (10, None)]).splitlines() == [
        " a   bb", " 1  2.2", "10    -"]
    assert markdown_table(("x", "y"), [("r", 1.0)]) == "| x | y |\n| --- | ---: |\n| r | 1.0 |"
