"""`harness compare`: before/after plots and a Markdown report."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("before", type=click.Path(path_type=Path))
@click.argument("after", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="New folder for the plots and report.md (must not exist).")
def compare(before: Path, after: Path, output: Path) -> None:
    """Compare two run folders: PNG plots and report.md, ready for a pull request."""
    # pandas and matplotlib load here, not at start-up, so other commands stay fast and small.
    from session_store_harness.judging.compare import compare_runs
    from session_store_harness.model.result_folder import load_run
    from session_store_harness.writers.comparison_json import comparison_json
    from session_store_harness.writers.folder import create_folder, write_bytes, write_text
    from session_store_harness.writers.plots import comparison_plots
    from session_store_harness.writers.report import comparison_report, deltas_table

    comparison = compare_runs(load_run(before), load_run(after))
    plots = comparison_plots(comparison)
    folder = create_folder(output)
    for name, png in plots.items():
        write_bytes(folder / name, png)
    write_text(folder / "comparison.json", comparison_json(comparison))
    write_text(folder / "report.md", comparison_report(comparison, plots))
    click.echo(deltas_table(comparison.metrics))
    for warning in comparison.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"report: {folder / 'report.md'}")
