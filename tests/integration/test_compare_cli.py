"""`harness compare` on two real runs: valid PNGs, a report, and refusals."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import pytest

from tests.conftest import assert_one_line_error, run_cli


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("runs")
    common = ("--profile", "realistic", "--target-kb", "600", "--cycles", "10", "--repeat", "1",
              "--sample-every", "5")
    for name, store in (("before", ("wholefile",)), ("after", ("snapshot",
                                                               "--reuse-loaded-store"))):
        result = run_cli("run", "--store", *store, *common, "--run-dir", str(root / name))
        assert result.returncode == 0, result.stderr
    return root / "before", root / "after"


@pytest.fixture(scope="module")
def smaller_store_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Like `two_runs`' before, on a store half the size: a different store file."""
    folder = tmp_path_factory.mktemp("smaller") / "run"
    result = run_cli("run", "--store", "wholefile", "--profile", "realistic", "--target-kb",
                     "300", "--cycles", "10", "--repeat", "1", "--sample-every", "5",
                     "--run-dir", str(folder))
    assert result.returncode == 0, result.stderr
    return folder


def test_compare_writes_plots_and_a_report(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    result = run_cli("compare", *map(str, two_runs), "-o", str(out))
    assert result.returncode == 0, result.stderr
    for name in ("rss_vs_cycle.png", "cycle_time.png", "rss_timeline.png"):
        png = out / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        pixels = matplotlib.image.imread(png)
        assert pixels.shape[0] >= 300 and pixels.shape[1] >= 600
        assert pixels.std() > 0.01  # something was drawn
    report = (out / "report.md").read_text()
    assert report.startswith("# Session store memory: wholefile → snapshot-reuse")
    assert "Too few repeats to tell a change in steady RSS (median, 2nd half)" in report
    assert "| runtime | cpython 3." in report  # the worker's own word
    assert "| cycle | rss_mb before | rss_mb after |" in report
    assert "1 repeat(s): at least 4 a side" in report  # one repeat is never significant
    assert (out / "comparison.json").is_file()
    assert "peak RSS" in report and "median time per cycle" in report
    assert "different store files" not in report  # same seed, same store


def test_compare_says_first_when_runs_are_not_comparable_and_still_reports(
        two_runs: tuple[Path, Path], smaller_store_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    result = run_cli("compare", str(two_runs[0]), str(smaller_store_run), "-o", str(out))
    # compare describes (exit 0, report written); the gate is the judge
    assert result.returncode == 0, result.stderr
    warnings = result.stderr.splitlines()
    assert warnings[0].startswith("warning: not comparable: the store file (SHA-256) differs")
    assert "(--allow-different store-file)" in warnings[1]
    report = (out / "report.md").read_text().splitlines()
    assert report[2].startswith("> **⚠️ Not comparable**")
    assert report.index("> - " + warnings[0].removeprefix("warning: not comparable: ")) < \
        next(i for i, line in enumerate(report) if line.startswith("Too few repeats"))
    mismatches = json.loads((out / "comparison.json").read_text())["mismatches"]
    assert [m["key"] for m in mismatches] == ["store-file"]


def test_compare_refuses_bad_inputs(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    before, after = map(str, two_runs)
    assert_one_line_error(run_cli("compare", before, str(tmp_path), "-o", str(tmp_path / "x")),
                          2, "not a run folder")
    assert_one_line_error(run_cli("compare", before, str(tmp_path / "missing"), "-o",
                                  str(tmp_path / "x")), 2, "not a folder")
    taken = tmp_path / "taken"
    taken.mkdir()
    assert_one_line_error(run_cli("compare", before, after, "-o", str(taken)), 2,
                          "already exists")
    assert not any(taken.iterdir())


def test_report_command_on_compare_and_run_folders(two_runs: tuple[Path, Path],
                                                   tmp_path: Path) -> None:
    compared = tmp_path / "cmp"
    assert run_cli("compare", *map(str, two_runs), "-o", str(compared)).returncode == 0
    out = tmp_path / "pr" / "report.md"
    out.parent.mkdir()
    result = run_cli("report", str(compared), "-o", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert "## Deltas" in text and "](../cmp/rss_vs_cycle.png)" in text
    single = tmp_path / "run.md"
    assert run_cli("report", str(two_runs[0]), "-o", str(single)).returncode == 0
    assert single.read_text().startswith("# Session store memory: wholefile")
    assert_one_line_error(run_cli("report", str(two_runs[0]), "-o", str(single)), 2,
                          "already exists")


def test_report_on_a_compare_folder_moved_with_its_runs(two_runs: tuple[Path, Path],
                                                       tmp_path: Path) -> None:
    # GIVEN runs and their compare folder side by side, as a CI job leaves them
    tree = tmp_path / "results"
    for run in two_runs:
        shutil.copytree(run, tree / run.name)
    result = run_cli("compare", str(tree / "before"), str(tree / "after"), "-o",
                     str(tree / "cmp"))
    assert result.returncode == 0, result.stderr
    # WHEN the whole tree moves (an artifact downloaded elsewhere)
    moved = tmp_path / "downloaded" / "results"
    moved.parent.mkdir()
    tree.rename(moved)
    # THEN the report still finds both runs
    out = tmp_path / "report.md"
    result = run_cli("report", str(moved / "cmp"), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_text().startswith("# Session store memory: wholefile → snapshot")
    # AND runs gone from both places are named, with where they were
    shutil.rmtree(moved / "after")
    assert_one_line_error(run_cli("report", str(moved / "cmp"), "-o", str(out), "--force"), 2,
                          f"{moved / 'cmp' / 'comparison.json'}: run folder after "
                          f"({moved / 'after'}) is gone; it was at {tree / 'after'}")


def test_report_on_a_folder_that_is_neither_a_run_nor_a_comparison(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a result")
    assert_one_line_error(run_cli("report", str(tmp_path), "-o", str(tmp_path / "r.md")), 2,
                          f"{tmp_path}: not a run, compare or sweep folder")
    assert not (tmp_path / "r.md").exists()


def test_report_refuses_a_comparison_json_from_a_newer_harness(tmp_path: Path) -> None:
    (tmp_path / "comparison.json").write_text('{"schema_version": 99, "before": "b"}')
    assert_one_line_error(run_cli("report", str(tmp_path), "-o", str(tmp_path / "r.md")), 2,
                          f"{tmp_path / 'comparison.json'}: schema_version 99 is not one")


def test_the_notebook_runs_on_two_real_runs(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    import nbformat

    # as `make notebook` runs it: the module, on two run folders
    out = tmp_path / "executed.ipynb"
    result = subprocess.run([sys.executable, "-m", "session_store_harness.writers.notebook",
                             str(two_runs[0]), str(two_runs[1]), str(out)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    cells = nbformat.read(out, as_version=4).cells
    outputs = [o for cell in cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)
    assert any("RSS at last cycle" in o.get("data", {}).get("text/html", "") for o in outputs)
