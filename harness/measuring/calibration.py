"""`harness calibrate`'s trials: A/A pairs and known regressions run through the gate.

Each trial measures a `snapshot` baseline, a second `snapshot` run (A/A: any gate failure is a
false fail) and a `padded` run holding a block sized to a share of the baseline's RSS (a known
regression: a gate failure is a detection). The rates are judged by `judging/calibrate.py`.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from session_store_harness.errors import EXIT_FAILED, HarnessError
from session_store_harness.judging.calibrate import Rate, pad_kb_for
from session_store_harness.judging.gate import GateLimits, Outcome, evaluate
from session_store_harness.judging.metrics import values_of
from session_store_harness.measuring.measure import measure, new_folder
from session_store_harness.model.config import RunConfig, check_range, store_spec
from session_store_harness.model.run import Run


@dataclass(frozen=True)
class CalibrationConfig:
    """How many trials of what size, and the gate under test."""

    limits: GateLimits
    regression: float  # the known regression, a share of the baseline's RSS
    trials: int = 20
    repeat: int = 5
    target_kb: int | None = None
    profile: str = "realistic"
    cycles: int = 10

    def __post_init__(self) -> None:
        check_range("--trials", self.trials, 1, 1000)
        if self.limits.max_regression is None:
            raise HarnessError("calibration needs the gate's --threshold")


@dataclass
class CalibrationResult:
    """Counts so far; rates with exact binomial intervals."""

    config: CalibrationConfig
    pad_kb: int | None = None
    false_fails: int = 0
    detections: int = 0
    trials_done: int = 0
    inconclusive: dict[str, int] = field(default_factory=lambda: {"a/a": 0, "regression": 0})

    @property
    def false_fail_rate(self) -> Rate:
        return Rate(self.false_fails, self.trials_done)

    @property
    def detection_rate(self) -> Rate:
        return Rate(self.detections, self.trials_done)

    def record(self, a_a: Outcome, regressed: Outcome) -> None:
        self.trials_done += 1
        self.false_fails += a_a == "fail"
        self.detections += regressed == "fail"
        self.inconclusive["a/a"] += a_a == "inconclusive"
        self.inconclusive["regression"] += regressed == "inconclusive"


def calibrate(config: CalibrationConfig, folder: Path, argv: tuple[str, ...] = (),
              on_trial: Callable[[CalibrationResult, Outcome, Outcome], None] | None = None,
              ) -> CalibrationResult:
    """Run every trial into sub-folders of `folder`; figures are kept as they come."""
    result = CalibrationResult(config)
    for trial in range(1, config.trials + 1):
        base = _run(config, folder / f"trial-{trial:03d}-a", "snapshot", argv)
        if result.pad_kb is None:  # sized once, from the first baseline's median RSS
            result.pad_kb = pad_kb_for(statistics.median(values_of(base, "rss_last_mb")),
                                       config.regression)
        same = _run(config, folder / f"trial-{trial:03d}-a2", "snapshot", argv)
        padded = _run(config, folder / f"trial-{trial:03d}-r", "padded", argv,
                      (("HARNESS_PAD_KB", str(result.pad_kb)),))
        a_a = evaluate(same, config.limits, base).outcome
        regressed = evaluate(padded, config.limits, base).outcome
        result.record(a_a, regressed)
        if on_trial:
            on_trial(result, a_a, regressed)
    return result


def _run(config: CalibrationConfig, target: Path, store: str, argv: tuple[str, ...],
         env: tuple[tuple[str, str], ...] = ()) -> Run:
    run_config = RunConfig(store=store, cycles=config.cycles,
                           sample_every=max(1, config.cycles // 5), repeat=config.repeat,
                           reuse_loaded_store=True, label=target.name, env=env,
                           generate=store_spec("calibrate", config.profile, 1,
                                               config.target_kb, None))
    run = measure(run_config, new_folder(target), argv)
    if not run.complete:
        raise HarnessError(f"calibration run {target.name} failed; see {target}/meta.json",
                           EXIT_FAILED)
    return run
