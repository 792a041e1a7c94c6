"""`harness calibrate`: the gate's false-fail and detection rates under real confounders.

Only parses options: the trials are `measuring/calibration.py`'s, the figures
`judging/calibrate.py`'s, the output the calibration writers'.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from session_store_harness.generating.profiles import PROFILES
from session_store_harness.judging.catalog import DEFAULT_REGRESSION_METRICS
from session_store_harness.measuring.noise import NOISE_KINDS
from session_store_harness.model.config import DEFAULT_TARGET_KB

if TYPE_CHECKING:  # the library loads scipy: only when the command runs
    from session_store_harness.judging.calibrate import Trial
    from session_store_harness.measuring.calibration import CalibrationResult

# measuring/calibration.py's KINDS, which loads scipy: the CLI starts without it
KIND_NAMES = ("aa", "aa-layout", "plants")
EPILOG = ("\b\nExit codes:\n"
          "0: every trial ran (the rates are the result, whatever they are)\n"
          "1: a trial's run failed, or a burner died (figures so far kept)\n"
          "2: bad options; the output folder exists or cannot be made\n"
          "130: interrupted by Ctrl-C, SIGTERM or SIGHUP (figures so far kept)")


@click.command(epilog=EPILOG)
@click.option("--trials", type=int, default=20, show_default=True,
              help="Trials; each runs every chosen kind once, as one interleaved A/B run.")
@click.option("--repeat", type=int, default=5, show_default=True,
              help="Repeats a side in each A/B run (ABBA order, a fresh layout each).")
@click.option("--max-repeat", type=int,
              help="Adaptive runs: add ABBA blocks until every gated verdict is clear, up to "
              "this many repeats a side.")
@click.option("--target-kb", type=int, default=DEFAULT_TARGET_KB["calibrate"],
              show_default=True, help="Size of the generated store (KiB).")
@click.option("--profile", type=click.Choice(sorted(PROFILES)), default="realistic",
              show_default=True, help="Entry shape of the generated store.")
@click.option("--cycles", type=int, default=10, show_default=True, help="Cycles per repeat.")
@click.option("--threshold", default="1%", show_default=True,
              help="The gate's --max-regression under test.")
@click.option("--metrics", default=",".join(DEFAULT_REGRESSION_METRICS), show_default=True,
              help="The gate's regression metrics.")
@click.option("--kinds", default=",".join(KIND_NAMES), show_default=True,
              help="Trial kinds: aa (identical sides), aa-layout (padded with "
              "HARNESS_PAD_KB=0 for B only), plants (planted regressions).")
@click.option("--plants", default="1%,5%", show_default=True,
              help="Planted regressions as shares of the baseline's steady RSS; 'none' for "
              "none.")
@click.option("--plant-kb", type=int, default=512, show_default=True,
              help="A planted regression of this many KiB too; 0 for none.")
@click.option("--layout-seed", type=int,
              help="Seed each A/B run's layout seed is drawn from (default: random, recorded).")
@click.option("--noise", type=click.Choice(NOISE_KINDS), default="none", show_default=True,
              help="Noisy neighbour running beside the workers for the whole calibration.")
@click.option("--noise-workers", type=int, default=1, show_default=True,
              help="Burner processes of each noise kind.")
@click.option("--noise-mb", type=int, default=256, show_default=True,
              help="Block each memory burner allocates, touches and frees, over and over.")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="New folder for every trial's A/B runs and calibration.json.")
def calibrate(trials: int, repeat: int, max_repeat: int | None, target_kb: int, profile: str,
              cycles: int, threshold: str, metrics: str, kinds: str, plants: str,
              plant_kb: int, layout_seed: int | None, noise: str, noise_workers: int,
              noise_mb: int, output: Path) -> None:
    """Run A/A and planted-regression trials through the gate, with layouts varied and an
    optional noisy neighbour, and report each kind's gate fail rate and cost per verdict."""
    from session_store_harness.measuring.calibration import calibrate as run_trials
    from session_store_harness.measuring.calibration import calibration_config
    from session_store_harness.measuring.measure import new_folder
    from session_store_harness.writers.calibration_json import calibration_json
    from session_store_harness.writers.calibration_text import calibration_lines, trial_line
    from session_store_harness.writers.folder import write_text

    config = calibration_config(
        trials=trials, repeat=repeat, max_repeat=max_repeat, target_kb=target_kb,
        profile=profile, cycles=cycles, threshold=threshold, metrics=metrics, kinds=kinds,
        plants=plants, plant_kb=plant_kb, layout_seed=layout_seed, noise=noise,
        noise_workers=noise_workers, noise_mb=noise_mb)
    folder = new_folder(output)
    argv = tuple(sys.argv)
    latest: list[CalibrationResult] = []

    def progress(result: CalibrationResult, trial: Trial) -> None:
        # kept before it is written: a Ctrl-C that lands once calibration.json is on disk
        # still prints the figures in it
        latest[:] = [result]
        # written after every trial, so an interrupted calibration keeps its figures
        write_text(folder / "calibration.json", calibration_json(result, argv))
        click.echo(trial_line(result, trial), err=True)

    try:
        run_trials(config, folder, argv, progress)
    finally:  # the figures so far, also when a trial failed or was interrupted
        if latest:
            with contextlib.suppress(OSError):  # stdout gone with a closed terminal
                click.echo("\n".join([*calibration_lines(latest[0]), f"results: {folder}"]))
