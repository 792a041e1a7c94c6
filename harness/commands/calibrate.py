"""`harness calibrate`: the gate's false-fail rate (A/A) and its detection rate (known leak)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from session_store_harness.generating.profiles import PROFILES
from session_store_harness.judging.catalog import DEFAULT_REGRESSION_METRICS
from session_store_harness.model.config import DEFAULT_TARGET_KB


@click.command()
@click.option("--trials", type=int, default=20, show_default=True,
              help="A/A and known-regression trials (each is 3 runs).")
@click.option("--repeat", type=int, default=5, show_default=True, help="Repeats per run.")
@click.option("--target-kb", type=int, default=DEFAULT_TARGET_KB["calibrate"],
              show_default=True, help="Size of the generated store (KiB).")
@click.option("--profile", type=click.Choice(sorted(PROFILES)), default="realistic",
              show_default=True, help="Entry shape of the generated store.")
@click.option("--cycles", type=int, default=10, show_default=True, help="Cycles per run.")
@click.option("--threshold", default="5%", show_default=True,
              help="The gate's --max-regression under test.")
@click.option("--regression", default="10%", show_default=True,
              help="Size of the known memory regression, as a share of baseline RSS.")
@click.option("--metrics", default=",".join(DEFAULT_REGRESSION_METRICS), show_default=True,
              help="The gate's regression metrics.")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="New folder for every trial's runs and calibration.json.")
def calibrate(trials: int, repeat: int, target_kb: int, profile: str, cycles: int,
              threshold: str, regression: str, metrics: str, output: Path) -> None:
    """Run A/A and known-regression trials through the gate and report both rates."""
    from session_store_harness.measuring.calibration import CalibrationConfig, CalibrationResult
    from session_store_harness.measuring.calibration import calibrate as run_trials
    from session_store_harness.measuring.measure import new_folder
    from session_store_harness.settings.gate_config import gate_limits, parse_fraction
    from session_store_harness.writers.calibration_json import calibration_json
    from session_store_harness.writers.folder import write_text

    config = CalibrationConfig(gate_limits({}, max_regression=threshold, metrics=metrics),
                               parse_fraction(regression), trials, repeat, target_kb, profile,
                               cycles)
    folder = new_folder(output)

    def progress(result: CalibrationResult, a_a: str, regressed: str) -> None:
        # written after every trial, so an interrupted calibration keeps its figures
        write_text(folder / "calibration.json", calibration_json(result, tuple(sys.argv)))
        click.echo(f"[calibrate] trial {result.trials_done}/{trials}: A/A {a_a}, "
                   f"+{config.regression:.0%} regression {regressed}", err=True)

    result = run_trials(config, folder, tuple(sys.argv), progress)
    click.echo(f"false-fail rate (A/A): {result.false_fail_rate.describe()}")
    click.echo(f"detection rate (+{config.regression:.0%} RSS, {result.pad_kb} KB): "
               f"{result.detection_rate.describe()}")
    click.echo(f"inconclusive: A/A {result.inconclusive['a/a']}, regression "
               f"{result.inconclusive['regression']}; results: {folder}")
