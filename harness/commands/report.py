"""`harness report`: a pull-request-sized Markdown report of a run or comparison folder."""

from __future__ import annotations

import os
from pathlib import Path

import click

from session_store_harness.errors import HarnessError


@click.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Markdown file to write (plots are linked relative to it; a sweep's "
              "PNGs are written beside it).")
@click.option("--force", is_flag=True, help="Replace an existing report file.")
def report(folder: Path, output: Path, force: bool) -> None:
    """Write report.md for a run, a `harness compare` or a sweep folder (under 60,000 chars).

    For a sweep (`harness sweep`, or `harness merge`'s folder): per-cycle time, peak RSS and
    heap against store size, log-log, one line per store (and workload), each with its fitted
    growth exponent; the PNGs are written beside the report.
    """
    from session_store_harness.model.comparison_folder import COMPARISON, is_comparison_folder
    from session_store_harness.model.result_folder import META, load_run
    from session_store_harness.model.sweep_folder import SWEEP_FILE, is_sweep_folder
    from session_store_harness.writers.folder import write_text
    from session_store_harness.writers.report import run_report_md

    if output.exists() and not force:
        raise HarnessError(f"{output}: already exists; pass --force to replace it")
    if not folder.is_dir():
        raise HarnessError(f"{folder}: not a folder")
    if is_comparison_folder(folder):
        text = _comparison_text(folder, output)
    elif (folder / META).is_file():
        text = run_report_md(load_run(folder))
    elif is_sweep_folder(folder):
        text = _sweep_text(folder, output, force)
    else:
        raise HarnessError(f"{folder}: not a run, compare or sweep folder (no {META}, "
                           f"{COMPARISON} or {SWEEP_FILE})")
    write_text(output, text, force=force)
    click.echo(f"report: {output} ({len(text)} characters)")


def _comparison_text(folder: Path, output: Path) -> str:
    """The comparison's report, recomputed from its two runs, plots linked from `output`."""
    from session_store_harness.judging.compare import compare_runs
    from session_store_harness.model.comparison_folder import load_comparison_sources
    from session_store_harness.model.result_folder import load_run
    from session_store_harness.writers.plots import PLOTS
    from session_store_harness.writers.report import comparison_report

    before, after = load_comparison_sources(folder)
    base = output.resolve().parent
    plots = [os.path.relpath(folder.resolve() / name, base) for name in PLOTS
             if (folder / name).is_file()]
    return comparison_report(compare_runs(load_run(before), load_run(after)), plots)


def _sweep_text(folder: Path, output: Path, force: bool) -> str:
    """The sweep's report; its plots are written beside `output` (refused if there, unless
    `force`, as the report itself)."""
    from session_store_harness.judging.growth import sweep_growth, sweep_metrics
    from session_store_harness.model.sweep_folder import load_sweep
    from session_store_harness.writers.sweep_plots import write_sweep_plots
    from session_store_harness.writers.sweep_report import sweep_report_md

    sweep = load_sweep(folder)
    metrics = sweep_metrics(sweep)
    growth = sweep_growth(sweep, metrics)
    plots = write_sweep_plots(sweep, growth, metrics, output.parent, force)
    return sweep_report_md(sweep, growth, metrics, plots)
