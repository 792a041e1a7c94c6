"""`harness calibrate`: the gate's false-fail rate (A/A) and its detection rate (known leak)."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

import click

from session_store_harness.errors import HarnessError
from session_store_harness.generating.generator import GenerateSpec
from session_store_harness.model.config import RunConfig


@click.command()
@click.option("--trials", type=int, default=20, show_default=True)
@click.option("--repeat", type=int, default=5, show_default=True, help="Repeats per run.")
@click.option("--target-kb", type=int, default=300, show_default=True)
@click.option("--profile", default="realistic", show_default=True)
@click.option("--cycles", type=int, default=10, show_default=True)
@click.option("--threshold", default="5%", show_default=True,
              help="The gate's --max-regression under test.")
@click.option("--regression", default="10%", show_default=True,
              help="Size of the known memory regression, as a share of baseline RSS.")
@click.option("--metrics", default="rss_last_mb,kernel_peak_rss_mb,cycle_ms_median",
              show_default=True, help="The gate's regression metrics.")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True)
def calibrate(trials: int, repeat: int, target_kb: int, profile: str, cycles: int,
              threshold: str, regression: str, metrics: str, output: Path) -> None:
    """Run A/A and known-regression trials through the gate and report both rates."""
    from session_store_harness.judging.calibrate import Rate, pad_kb_for
    from session_store_harness.judging.gate import evaluate
    from session_store_harness.judging.metrics import repeat_metrics, values_of
    from session_store_harness.measuring.measure import measure
    from session_store_harness.model.result_folder import load_run
    from session_store_harness.settings.gate_config import gate_limits, parse_fraction
    from session_store_harness.writers.folder import create_folder, write_text

    if not 1 <= trials <= 1000:
        raise HarnessError(f"--trials must be between 1 and 1000, got {trials}")
    limits = gate_limits({}, max_regression=threshold, metrics=metrics)
    share = parse_fraction(regression)
    folder = create_folder(output)

    spec = GenerateSpec(profile, seed=1, target_kb=target_kb)

    def run(name: str, store: str, env: tuple[tuple[str, str], ...] = ()) -> Path:
        config = RunConfig(store=store, cycles=cycles, sample_every=max(1, cycles // 5),
                           repeat=repeat, reuse_loaded_store=True, label=name, env=env,
                           generate=spec)
        target = create_folder(folder / name)
        if measure(config, target, tuple(sys.argv)).status != "complete":
            raise HarnessError(f"calibration run {name} failed; see {target}/meta.json", 1)
        return target

    pad_kb = None
    false_fails, detections, inconclusive = 0, 0, {"a/a": 0, "regression": 0}
    for trial in range(1, trials + 1):
        base = load_run(run(f"trial-{trial:03d}-a", "snapshot"))
        if pad_kb is None:  # sized once, from the first baseline's median RSS at the end
            pad_kb = pad_kb_for(statistics.median(values_of(repeat_metrics(base),
                                                            "rss_last_mb")), share)
        same = load_run(run(f"trial-{trial:03d}-a2", "snapshot"))
        padded = load_run(run(f"trial-{trial:03d}-r", "padded", (("HARNESS_PAD_KB",
                                                                   str(pad_kb)),)))
        a_a, regressed = evaluate(same, limits, base), evaluate(padded, limits, base)
        false_fails += a_a.outcome == "fail"
        detections += regressed.outcome == "fail"
        inconclusive["a/a"] += a_a.outcome == "inconclusive"
        inconclusive["regression"] += regressed.outcome == "inconclusive"
        click.echo(f"[calibrate] trial {trial}/{trials}: A/A {a_a.outcome}, "
                   f"+{share:.0%} regression {regressed.outcome}", err=True)
    false_rate, detect_rate = Rate(false_fails, trials), Rate(detections, trials)
    result = {"trials": trials, "repeats": repeat, "cycles": cycles, "target_kb": target_kb,
              "threshold": limits.max_regression, "regression": share, "pad_kb": pad_kb,
              "metrics": list(limits.metrics),
              "false_fail": {"hits": false_fails, "rate": false_rate.value,
                             "ci95": false_rate.ci95},
              "detection": {"hits": detections, "rate": detect_rate.value,
                            "ci95": detect_rate.ci95},
              "inconclusive": inconclusive}
    write_text(folder / "calibration.json", json.dumps(result, indent=2) + "\n")
    click.echo(f"false-fail rate (A/A): {false_rate.describe()}")
    click.echo(f"detection rate (+{share:.0%} RSS, {pad_kb} KB): {detect_rate.describe()}")
    click.echo(f"inconclusive: A/A {inconclusive['a/a']}, regression "
               f"{inconclusive['regression']}; results: {folder}")
