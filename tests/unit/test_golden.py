"""Snapshot tests: the writers' output for a committed pair of real result folders.

`tests/golden/before` and `tests/golden/after` were made by really running the harness (the
commands are in tests/golden/README.md). Each writer's output for them is compared, character
for character, with the expected file beside them, so any change to a report or to the gate's
output shows up as a diff to review. After an intended change, rewrite the expected files and
review `git diff tests/golden`:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/unit/test_golden.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from session_store_harness.judging.compare import compare_runs
from session_store_harness.judging.gate import GateLimits, evaluate
from session_store_harness.judging.growth import sweep_growth, sweep_metrics
from session_store_harness.model.result_folder import load_run
from session_store_harness.model.run import Run
from session_store_harness.model.sweep_folder import load_sweep
from session_store_harness.writers.gate_output import gate_json, gate_text
from session_store_harness.writers.plots import PLOTS
from session_store_harness.writers.report import comparison_report, run_report_md
from session_store_harness.writers.sweep_plots import plot_name
from session_store_harness.writers.sweep_report import sweep_report_md

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
LIMITS = GateLimits(max_peak_rss_mb=100, max_growth_mb_per_cycle=1, max_regression=0.10)
MAX_FOLDER_BYTES = 12_000


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> tuple[Run, Run]:
    # loaded by name from inside the golden folder: the reports then show `before`/`after`,
    # not a path that depends on where the repository is checked out
    monkeypatch.chdir(GOLDEN)
    return load_run(Path("before")), load_run(Path("after"))


def expect(name: str, text: str) -> None:
    """`text` equals the expected file `name`, or (UPDATE_GOLDEN=1) becomes it."""
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"{path} missing: run with UPDATE_GOLDEN=1 to write it"
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} differs from the expected output; if the change is intended, rerun with "
        "UPDATE_GOLDEN=1 and review the diff")


def test_comparison_report(runs: tuple[Run, Run]) -> None:
    expect("report.md", comparison_report(compare_runs(*runs), list(PLOTS)))


def test_run_report(runs: tuple[Run, Run]) -> None:
    expect("run-report.md", run_report_md(runs[0]))


def test_gate_text_and_json(runs: tuple[Run, Run]) -> None:
    before, after = runs
    result = evaluate(after, LIMITS, baseline=before)
    expect("gate.txt", gate_text(result))
    expect("gate.json", gate_json(result))


@pytest.mark.parametrize("name", ["before", "after"])
def test_golden_folders_stay_small_real_runs(name: str) -> None:
    folder = GOLDEN / name
    files = sorted(path.name for path in folder.iterdir())
    assert files == ["cycles.csv", "meta.json", "samples.csv", "summary.json", "timeline.csv"]
    assert sum(path.stat().st_size for path in folder.iterdir()) < MAX_FOLDER_BYTES
    run = load_run(folder)
    assert run.complete and len(run.measured) == 4


def test_sweep_report(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(GOLDEN)  # the title names the folder as given: `sweep`
    sweep = load_sweep(Path("sweep"))
    metrics = sweep_metrics(sweep)
    expect("sweep-report.md", sweep_report_md(sweep, sweep_growth(sweep, metrics), metrics,
                                              [plot_name(metric) for metric in metrics]))


def test_golden_sweep_stays_a_small_real_sweep() -> None:
    sweep = load_sweep(GOLDEN / "sweep")
    assert [cell.name for cell in sweep.cells] == ["wholefile-30kb", "snapshot-30kb",
                                                   "wholefile-90kb", "snapshot-90kb"]
    assert not sweep.missing and all(cell.run.complete for cell in sweep.cells)
    assert sum(path.stat().st_size for path in (GOLDEN / "sweep").rglob("*")
               if path.is_file()) < 4 * MAX_FOLDER_BYTES + 4_000
