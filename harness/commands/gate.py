"""`harness gate`: pass/fail a candidate run for CI. Exit 0 pass, 1 fail, 2 usage, 3 rerun."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from session_store_harness.errors import HarnessError, exit_code_help
from session_store_harness.judging.catalog import DEFAULT_REGRESSION_METRICS

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
@click.option("--metrics", help="Comma-separated metrics for --max-regression (default "
              + ",".join(DEFAULT_REGRESSION_METRICS) + ").")
@click.option("--allow-different", "allow_different", cls=AspectsOption, multiple=True,
              metavar="KEY", help=ALLOW_HELP.format(keys="see harness gate --help"))
@click.option("--config", type=click.Path(path_type=Path),
              help="TOML file with [tool.harness.gate] (default: the nearest harness.toml, or "
              "pyproject.toml with [tool.harness], up to the repository's root).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Text lines for people, JSON with stable check ids for "
              "scripts. JSON mode prints exactly one JSON document on stdout, a refusal too "
              "(outcome \"error\"), and no GitHub annotations; the GitHub step summary is "
              "still written.")
def gate(candidate: Path, baseline: Path | None, max_peak_rss_mb: float | None,
         max_growth_mb_per_cycle: float | None, max_regression: str | None,
         metrics: str | None, allow_different: tuple[str, ...], config: Path | None,
         output_format: str) -> None:
    """Check a run against limits and a baseline; exit 0 pass, 1 fail, 3 inconclusive.

    A regression fails only when it is significant and over --max-regression; runs whose
    setups differ are refused (exit 2) unless the difference is named with --allow-different.
    """
    from session_store_harness.writers.gate_output import gate_json, gate_text

    as_json = output_format == "json"
    try:
        result = _judge(candidate, baseline, config, max_peak_rss_mb=max_peak_rss_mb,
                        max_growth_mb_per_cycle=max_growth_mb_per_cycle,
                        max_regression=max_regression, metrics=metrics,
                        allow_different=allow_different or None)
    except HarnessError as exc:
        if as_json:
            _echo_refusal(exc)
        raise  # the CLI prints the one-line error on stderr and exits with its code
    click.echo(gate_json(result) if as_json else gate_text(result), nl=False)
    _github(result, annotate=not as_json)
    sys.exit(result.exit_code)


def _judge(candidate: Path, baseline: Path | None, config: Path | None,
           **options: Any) -> GateResult:
    """The verdict, or a `HarnessError` when the gate refuses to give one."""
    from session_store_harness.judging.gate import evaluate
    from session_store_harness.model.result_folder import load_run
    from session_store_harness.settings.gate_config import gate_limits, load_gate_table

    limits = gate_limits(load_gate_table(config), **options)
    return evaluate(load_run(candidate), limits,
                    load_run(baseline) if baseline is not None else None)


def _echo_refusal(exc: HarnessError) -> None:
    from session_store_harness.writers.gate_output import gate_error_json

    click.echo(gate_error_json(str(exc), exc.exit_code), nl=False)


def _github(result: GateResult, annotate: bool) -> None:
    """In GitHub Actions: the job summary, and (text mode only: in JSON mode stdout holds the
    JSON document alone) annotations on the workflow run."""
    from session_store_harness.writers.gate_output import gate_markdown, github_annotations
    from session_store_harness.writers.github import append_step_summary, summary_path

    path = summary_path()
    if path is None:
        return
    warning = append_step_summary(path, gate_markdown(result))
    if warning:
        click.echo(warning, err=True)
    annotations = github_annotations(result) if annotate else ""
    if annotations:
        click.echo(annotations)
