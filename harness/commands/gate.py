"""`harness gate`: pass/fail a candidate run for CI. Exit 0 pass, 1 fail, 2 usage, 3 rerun."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from session_store_harness.errors import exit_code_help

if TYPE_CHECKING:
    from session_store_harness.judging.gate import GateResult

EPILOG = "\b\nExit codes:\n" + exit_code_help()
ALLOW_HELP = ("A setup difference between baseline and candidate that is intended, so the gate "
              "judges the runs anyway (repeatable or comma-separated): {keys}.")


class AspectsOption(click.Option):
    """`--allow-different`, whose help names the comparison's aspects when help is shown:
    importing the judges at start-up would load scipy for every command."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        from session_store_harness.judging.compare import ASPECTS

        self.help = ALLOW_HELP.format(keys=", ".join(ASPECTS))
        return super().get_help_record(ctx)


@click.command(epilog=EPILOG)
@click.argument("candidate", type=click.Path(path_type=Path))
@click.option("--baseline", type=click.Path(path_type=Path), help="Run folder to compare with.")
@click.option("--max-peak-rss-mb", type=float, help="Ceiling on the median peak RSS (MB).")
@click.option("--max-growth-mb-per-cycle", type=float,
              help="Ceiling on the median RSS growth slope (MB/cycle).")
@click.option("--max-regression", help="Largest allowed significant worsening, e.g. 10%.")
@click.option("--metrics", help="Comma-separated metrics for --max-regression "
              "(default rss_last_mb,peak_rss_mb,cycle_ms_median).")
@click.option("--allow-different", "allow_different", cls=AspectsOption, multiple=True,
              metavar="KEY", help=ALLOW_HELP.format(keys="see harness gate --help"))
@click.option("--config", type=click.Path(path_type=Path),
              help="TOML file with [tool.harness.gate] (default ./pyproject.toml if present).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Text lines for people, JSON with stable check ids for "
              "scripts.")
def gate(candidate: Path, baseline: Path | None, max_peak_rss_mb: float | None,
         max_growth_mb_per_cycle: float | None, max_regression: str | None,
         metrics: str | None, allow_different: tuple[str, ...], config: Path | None,
         output_format: str) -> None:
    """Check a run against limits and a baseline; exit 0 pass, 1 fail, 3 inconclusive.

    A regression fails only when it is significant and over --max-regression; runs whose
    setups differ are refused (exit 2) unless the difference is named with --allow-different.
    """
    from session_store_harness.judging.gate import evaluate
    from session_store_harness.model.result_folder import load_run
    from session_store_harness.settings.gate_config import gate_limits, load_gate_table
    from session_store_harness.writers.gate_output import gate_json, gate_text

    limits = gate_limits(load_gate_table(config), max_peak_rss_mb=max_peak_rss_mb,
                         max_growth_mb_per_cycle=max_growth_mb_per_cycle,
                         max_regression=max_regression, metrics=metrics,
                         allow_different=allow_different or None)
    result = evaluate(load_run(candidate), limits,
                      load_run(baseline) if baseline is not None else None)
    click.echo(gate_json(result) if output_format == "json" else gate_text(result), nl=False)
    _github(result)
    sys.exit(result.exit_code)


def _github(result: GateResult) -> None:
    """In GitHub Actions: the job summary, and annotations on the workflow run."""
    from session_store_harness.writers.gate_output import gate_markdown, github_annotations

    summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not summary_path:
        return
    with open(summary_path, "a", encoding="utf-8") as summary:
        summary.write(gate_markdown(result))
    annotations = github_annotations(result)
    if annotations:
        click.echo(annotations)
