"""`harness gate`: pass/fail a candidate run for CI. Exit 0 pass, 1 fail, 2 usage, 3 rerun."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click


@click.command()
@click.argument("candidate", type=click.Path(path_type=Path))
@click.option("--baseline", type=click.Path(path_type=Path), help="Run folder to compare with.")
@click.option("--max-peak-rss-mb", type=float, help="Ceiling on the median kernel peak RSS.")
@click.option("--max-growth-mb-per-cycle", type=float,
              help="Ceiling on the median RSS growth slope.")
@click.option("--max-regression", help="Largest allowed significant worsening, e.g. 10%.")
@click.option("--metrics", help="Comma-separated metrics for --max-regression "
              "(default rss_last_mb,kernel_peak_rss_mb,cycle_ms_median).")
@click.option("--config", type=click.Path(path_type=Path),
              help="TOML file with [tool.harness.gate] (default ./pyproject.toml if present).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
def gate(candidate: Path, baseline: Path | None, max_peak_rss_mb: float | None,
         max_growth_mb_per_cycle: float | None, max_regression: str | None,
         metrics: str | None, config: Path | None, output_format: str) -> None:
    """Check a run against limits and a baseline; exit 0 pass, 1 fail, 3 inconclusive."""
    from session_store_harness.judging.gate import evaluate
    from session_store_harness.model.result_folder import load_run
    from session_store_harness.settings.gate_config import gate_limits, load_gate_table
    from session_store_harness.writers.gate_output import (
        gate_json,
        gate_markdown,
        gate_text,
        github_annotations,
    )

    limits = gate_limits(load_gate_table(config), max_peak_rss_mb=max_peak_rss_mb,
                         max_growth_mb_per_cycle=max_growth_mb_per_cycle,
                         max_regression=max_regression, metrics=metrics)
    result = evaluate(load_run(candidate), limits,
                      load_run(baseline) if baseline is not None else None)
    click.echo(gate_json(result) if output_format == "json" else gate_text(result))
    summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_path:
        with open(summary_path, "a", encoding="utf-8") as summary:
            summary.write(gate_markdown(result))
        annotations = github_annotations(result)
        if annotations:
            click.echo(annotations)
    sys.exit(result.exit_code)
