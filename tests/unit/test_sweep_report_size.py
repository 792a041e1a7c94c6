"""A sweep's report fits a GitHub comment at any size: the committed tiny sweep's cells,
repeated as the cells of a larger matrix, against a smaller limit (the mechanism is the same at
the real one, `MAX_CHARS`, which is under GitHub's 65,536)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from session_store_harness.judging.growth import GrowthFit, sweep_growth, sweep_metrics
from session_store_harness.model.sweep_folder import load_sweep
from session_store_harness.writers.report import MAX_CHARS
from session_store_harness.writers.sweep_report import exponent_cell, sweep_report_md

GOLDEN_SWEEP = Path(__file__).resolve().parent.parent / "golden" / "sweep"


def test_a_large_sweep_report_is_cut_to_its_limit_details_first() -> None:
    # GIVEN 40 store lines of 2 sizes each (80 cells): tables of about 9,000 characters
    sweep = load_sweep(GOLDEN_SWEEP)
    cells = tuple(replace(cell, name=f"store{i:02}-{cell.size_kb}kb", store=f"store{i:02}")
                  for i in range(40) for cell in sweep.cells if cell.store == "wholefile")
    big = replace(sweep, cells=cells, missing=(("lost-1kb", "no meta.json"),))
    metrics = sweep_metrics(big)
    growth = sweep_growth(big, metrics)
    whole = sweep_report_md(big, growth, metrics, ["a.png"])
    assert 8_000 < len(whole) <= MAX_CHARS < 65_536 and "| store39-90kb |" in whole
    # WHEN the limit is below the tables' length
    text = sweep_report_md(big, growth, metrics, ["a.png"], max_chars=5_000)
    # THEN the details go first, then the text is cut, and says so, its opening intact
    assert len(text) <= 5_000 and "| store39-90kb |" not in text
    assert text.startswith("# Session store cost against store size: sweep\n\n80 cell(s)")
    assert text.endswith("(report cut to fit a GitHub comment; see the run folders)")


def test_a_flat_lines_exponent_reads_0_00_not_minus_0_00() -> None:
    # a heap that does not grow fits k about 0, its lower bound a hair below it
    fit = GrowthFit(-0.001, (-0.004, 0.002), sizes=4, points=12)
    assert exponent_cell(fit) == "0.00 [0.00, 0.00]"
    assert exponent_cell(GrowthFit(-0.5, (-0.6, -0.4), 4, 12)) == "-0.50 [-0.60, -0.40]"
