"""`harness report` on a real small sweep: log-log plots, exponents and figures tables, for a
whole sweep, a merged one, a shard with one size, and a sweep with a workload dimension."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from session_store_harness.cli import cli
from session_store_harness.errors import HarnessError
from session_store_harness.judging.growth import growth_exponent, sweep_growth
from session_store_harness.judging.metrics import summarize, values_of
from session_store_harness.measuring.sweep import run_order
from session_store_harness.model.result_folder import load_run
from session_store_harness.model.sweep_folder import load_sweep
from session_store_harness.writers.sweep_plots import draw_growth
from tests.conftest import run_cli

# 6 cells of 2 repeats, 4 cycles each, on stores of 50 to 450 KB: about 5 s on 2 cores
SWEEP = ("--sizes", "50,150,450", "--stores", "wholefile,snapshot", "--reuse", "no",
         "--profile", "pr", "--cycles", "4", "--sample-every", "1", "--repeat", "2")
PNGS = ("sweep-cycle-time.png", "sweep-peak-rss.png", "sweep-heap.png")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sweep") / "sweep"
    result = run_cli("sweep", *SWEEP, "-o", str(folder))
    assert result.returncode == 0, result.stderr
    return folder


def test_the_sweep_ran_its_cells_in_a_recorded_random_order(sweep: Path) -> None:
    data = json.loads((sweep / "sweep.json").read_text())
    ran = data["run_order"]
    assert ran["order"] == "random" and isinstance(ran["seed"], int)
    assert sorted(ran["cells"]) == sorted(cell["name"] for cell in data["cells"])
    # the seed gives the order back
    assert ran["cells"] == [c["name"] for c in run_order(data["cells"], "random", ran["seed"])]


def _report(folder: Path, out: Path, *extra: str) -> str:
    # in this process (click's runner): the sweep and the refusals run as real subprocesses,
    # the reports need not pay the start-up of pandas, scipy and matplotlib each time
    result = CliRunner().invoke(cli, ["report", str(folder), "-o", str(out), *extra])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return out.read_text()


def _section(text: str, title: str) -> list[str]:
    """The table rows under a `## title` heading (header and separator left out)."""
    lines = text.split(f"## {title}", 1)[1].split("\n## ", 1)[0].splitlines()
    return [line for line in lines if line.startswith("| ")][2:]


def test_a_sweep_report_draws_each_metric_against_size_with_each_stores_exponent(
        sweep: Path, tmp_path: Path) -> None:
    # WHEN the sweep folder is reported
    (tmp_path / "out").mkdir()
    text = _report(sweep, tmp_path / "out" / "report.md")
    # THEN three PNGs are written beside it, private, and linked from it
    for name in PNGS:
        png = tmp_path / "out" / name
        assert png.read_bytes().startswith(PNG_MAGIC) and png.stat().st_size > 10_000
        assert stat.S_IMODE(png.stat().st_mode) == 0o600
        assert f"]({name})" in text
    assert len(text) < 65_536
    # AND each store has a line in the exponents table, with an interval for each metric
    # that agrees with the library's fit over every repeat's value
    exponents = _section(text, "Growth exponents")
    assert [row.split("|")[1].strip() for row in exponents] == ["wholefile", "snapshot"]
    loaded = load_sweep(sweep)
    cells = [c for c in loaded.cells if c.series == "wholefile"]
    peaks = [(c.size_bytes, v) for c in cells for v in values_of(c.run, "peak_rss_mb")]
    fit = growth_exponent(*zip(*peaks, strict=True))
    assert len(peaks) == 6 and fit.interval is not None
    assert (f"{fit.exponent:.2f} [{fit.interval[0]:.2f}, {fit.interval[1]:.2f}]"
            in exponents[0].split("|")[3])
    # a 450 KB store parsed whole takes more memory than a 50 KB one: the exponent is above 0
    assert 0 < fit.exponent < 2
    # AND the figures table has a row per cell whose medians are the run's own
    figures = _section(text, "Figures by size (median across repeats)")
    assert len(figures) == 6
    first = load_run(sweep / "wholefile-50kb")
    cells_of_row = [part.strip() for part in figures[0].split("|")[1:-1]]
    assert cells_of_row[:3] == ["wholefile", "50", "0.049"]
    assert float(cells_of_row[4]) == pytest.approx(
        summarize(first).get("peak_rss_mb").median, abs=0.01)
    assert "k = 1.0 means the cost grows linearly" in text.replace("**", "")


def test_a_merged_sweep_reports_the_same_and_existing_plots_need_force(
        sweep: Path, tmp_path: Path) -> None:
    merged = tmp_path / "merged"
    assert CliRunner().invoke(cli, ["merge", str(sweep), "-o", str(merged)]).exit_code == 0
    text = _report(merged, tmp_path / "report.md")
    assert "2 store line(s), sizes 50, 150, 450 KB" in text
    # a second report beside the first must not overwrite its plots silently
    (tmp_path / "report.md").unlink()
    refused = CliRunner().invoke(cli, ["report", str(merged), "-o", str(tmp_path / "report.md")])
    assert isinstance(refused.exception, HarnessError) and refused.exception.exit_code == 2
    assert str(refused.exception) == (f"{tmp_path / 'sweep-cycle-time.png'}: already exists; "
                                      "pass --force to replace it")
    assert not (tmp_path / "report.md").exists()
    assert "Growth exponents" in _report(merged, tmp_path / "report.md", "--force")


def _partial_sweep(sweep: Path, folder: Path, names: list[str],
                   edit=lambda cell: [cell]) -> Path:
    """A sweep folder holding copies of `names`' run folders, its sweep.json rewritten with
    `edit` (a cell in, the cells it becomes out)."""
    data = json.loads((sweep / "sweep.json").read_text())
    folder.mkdir()
    cells = []
    for cell in (c for c in data["matrix"] if c["name"] in names):
        for new in edit(cell):
            shutil.copytree(sweep / cell["name"], folder / new["name"])
            cells.append(new)
    matrix = [new for cell in data["matrix"] for new in edit(cell)]
    (folder / "sweep.json").write_text(json.dumps({**data, "matrix": matrix, "cells": cells}))
    return folder


def test_one_size_is_no_fit_and_says_so_and_missing_cells_are_named(
        sweep: Path, tmp_path: Path) -> None:
    shard = _partial_sweep(sweep, tmp_path / "shard", ["wholefile-50kb", "snapshot-50kb"])
    text = _report(shard, tmp_path / "report.md")
    exponents = _section(text, "Growth exponents")
    assert len(exponents) == 2
    assert all(row.count("no fit: 1 size(s) with a positive figure; a slope needs 2 or more")
               == 3 for row in exponents)
    assert "4 cell(s) of the matrix have no figures: wholefile-150kb, snapshot-150kb" in text


def test_a_workload_dimension_gives_a_line_per_store_and_workload(
        sweep: Path, tmp_path: Path) -> None:
    # GIVEN a sweep whose cells carry a workload (the full cells copied as `entry` too);
    # the original cells say nothing of one, and read as `full`
    def both(cell: dict) -> list[dict]:
        return [cell, {**cell, "workload": "entry", "name": cell["name"] + "-entry"}]

    names = [f"{store}-{size}kb" for store in ("wholefile", "snapshot") for size in (50, 450)]
    folder = _partial_sweep(sweep, tmp_path / "workloads", names, both)
    text = _report(folder, tmp_path / "report.md")
    exponents = [[part.strip() for part in row.split("|")[1:3]]
                 for row in _section(text, "Growth exponents")]
    # THEN the rows are grouped by workload in the sweep's order (the designs compared are
    # those under one workload), full first though `entry` sorts before it by name
    assert exponents == [["wholefile", "full"], ["snapshot", "full"], ["wholefile", "entry"],
                         ["snapshot", "entry"]]
    assert "workload full, entry" in text
    figures = [[part.strip() for part in row.split("|")[2:4]]
               for row in _section(text, "Figures by size (median across repeats)")]
    assert figures == [["full", "50"]] * 2 + [["full", "450"]] * 2 + [["entry", "50"]] * 2 \
        + [["entry", "450"]] * 2
    # AND each plot has one panel per workload, each with its own stores' lines
    sweep_read = load_sweep(folder)
    growth = sweep_growth(sweep_read)
    figure = draw_growth(sweep_read, growth, "peak_rss_mb")
    panels = [axes for axes in figure.axes if axes.get_legend() is not None]
    assert [axes.get_title() for axes in panels] == [
        "workload full: load the whole store, update one entry",
        "workload entry: get one entry, update_entry it"]
    assert [[text.get_text().split(":")[0] for text in axes.get_legend().get_texts()]
            for axes in panels] == [["wholefile", "snapshot"]] * 2


def test_the_analysis_notebook_runs_on_a_run_an_ab_a_compare_and_a_sweep(
        sweep: Path, tmp_path: Path) -> None:
    import nbformat

    from session_store_harness.writers.notebook import analyse

    # GIVEN a tiny interleaved A/B run (its sides are run folders) and a compare folder of it
    ab = tmp_path / "ab"
    result = run_cli("ab", "wholefile", "snapshot+reuse", "--profile", "pr", "--target-kb", "50",
                     "--cycles", "3", "--sample-every", "1", "--repeat", "1", "-o", str(ab))
    assert result.returncode == 0, result.stderr
    compare = tmp_path / "compare"
    assert CliRunner().invoke(cli, ["compare", str(ab / "before"), str(ab / "after"), "-o",
                                    str(compare)]).exit_code == 0
    # WHEN the notebook is executed top to bottom on all four kinds
    out = tmp_path / "executed.ipynb"
    analyse([ab / "before", ab, compare, sweep], out)
    # THEN no cell failed, each folder was opened as its kind, and every plot was drawn:
    # 1 for the run, 3 for each pair, 3 for the sweep
    outputs = [o for cell in nbformat.read(out, as_version=4).cells
               if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    listing = next(o.text for o in outputs if o.output_type == "stream")
    assert [line.split()[0] for line in listing.splitlines()] == ["run", "ab", "compare", "sweep"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 1 + 3 + 3 + 3
    markdown = "\n".join(o.get("data", {}).get("text/markdown", "") for o in outputs)
    assert markdown.count("| verdict |") == 2  # a deltas table per pair
    assert "### sweep: growth exponents" in markdown and "| wholefile | 0." in markdown
    table = outputs[-1]["data"]["text/html"]  # the exponents as a frame to dig into
    assert table.count("cycle_ms_median") == 2 and "peak_rss_mb" in table


def test_open_folder_says_what_a_folder_is_not(tmp_path: Path) -> None:
    from session_store_harness.model.any_folder import open_folder

    with pytest.raises(HarnessError, match="not a run, ab, compare or sweep folder"):
        open_folder(tmp_path)
