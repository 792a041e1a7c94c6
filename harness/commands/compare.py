"""`harness compare`: before/after plots and a Markdown report.

Compare describes; the gate judges. Runs whose setups differ are still compared (exit 0), with
the differences said first, on stderr and at the top of report.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from session_store_harness.judging.compare import Comparison

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
    from session_store_harness.writers.comparison_files import REPORT, write_comparison_folder
    from session_store_harness.writers.report import deltas_table

    comparison = compare_runs(load_run(before), load_run(after))
    _warn(comparison, mismatches=True)
    folder = write_comparison_folder(comparison, output)
    click.echo(deltas_table(comparison.metrics, comparison.alpha))
    _warn(comparison, mismatches=False)
    click.echo(f"report: {folder / REPORT}")


def _warn(comparison: Comparison, mismatches: bool) -> None:
    """The not-comparable warnings (with what `harness gate` needs to accept them), or the
    other caveats."""
    lines = ([f"not comparable: {m.describe()}" for m in comparison.mismatches] if mismatches
             else list(comparison.warnings))
    for line in lines:
        click.echo(f"warning: {line}", err=True)
    if mismatches and comparison.mismatches:
        keys = ",".join(m.key for m in comparison.mismatches)
        click.echo(f"warning: harness gate refuses these runs unless told the difference is "
                   f"intended (--allow-different {keys})", err=True)
