"""`harness calibrate`'s trials: interleaved A/B runs with the real confounders, through the gate.

Each trial is one `measure_ab` run per kind, both sides' repeats alternating (ABBA) and each
repeat in a random, recorded memory layout, while an optional noisy neighbour burns CPU or
churns memory beside the workers. The kinds:

- `aa`: `snapshot+reuse` against itself; any gate failure is a false fail.
- `aa-layout`: `snapshot+reuse` against `padded+reuse` with `HARNESS_PAD_KB=0` for the after
  side only: the same code under one more environment variable, the comparison that once
  false-failed 3 of 3 because the environment moved the memory layout. A false fail too.
- plants (`plant-1%`, `plant-5%`, `plant-512KB`...): `padded+reuse` holding a block of a share
  of the baseline's steady RSS, or of a fixed size; a gate failure is a detection. Both sides
  get the same `HARNESS_PAD_KB` (`snapshot` ignores it), so the environments are identical and
  the block is the only difference: the plant's size is what is detected, not a layout.

The verdicts are judged by `judging/calibrate.py`.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from session_store_harness.errors import EXIT_FAILED, EXIT_INTERRUPTED, HarnessError
from session_store_harness.judging.calibrate import (
    KindSummary,
    Trial,
    first_repeats,
    fixed_wall_s,
    judge,
    pad_kb_for,
    summarize,
)
from session_store_harness.judging.compare import ASPECTS
from session_store_harness.judging.gate import GateLimits
from session_store_harness.judging.metrics import values_of
from session_store_harness.judging.sequential import check_design
from session_store_harness.measuring.ab import AbPlan, measure_ab
from session_store_harness.measuring.measure import measure, new_folder, resolve_layout_seed
from session_store_harness.measuring.noise import Burner, NoiseConfig, noisy_neighbour
from session_store_harness.measuring.runner import MAX_HASH_SEED
from session_store_harness.model.config import RunConfig, check_range, generate_spec
from session_store_harness.model.run import Run
from session_store_harness.settings.gate_config import gate_limits, names, parse_fraction
from session_store_harness.stores.padded import PAD_ENV

KINDS = ("aa", "aa-layout", "plants")  # what --kinds chooses from
BASELINE = "snapshot"
PLANTED = "padded"
SIZING_METRIC = "rss_steady_mb"
# What the layout and plant trials differ in on purpose. The gate compares different stores
# and environments (it notes the latter), so today none of these is a setup aspect it refuses;
# should one become one, it is named as intended here rather than the trial refused.
INTENDED_DIFFERENCES = ("store", "env")
Env = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class TrialKind:
    """One kind of trial: the after side's store and what each side's environment holds."""

    name: str
    after_store: str
    planted: bool  # a gate failure is a detection (else a false fail)
    after_only_env: Env = ()  # given to the after side alone
    share: float | None = None  # a plant sized to this share of the baseline's steady RSS
    pad_kb: int | None = None  # a plant of this fixed size

    @property
    def folder_name(self) -> str:
        return self.name.replace("%", "pct")


@dataclass(frozen=True)
class CalibrationConfig:
    """How many trials of what size and kind, the gate under test, and the noise beside it."""

    limits: GateLimits
    trials: int = 20
    repeat: int = 5  # a side
    target_kb: int | None = None
    profile: str = "realistic"
    cycles: int = 10
    kinds: tuple[str, ...] = KINDS
    plants: tuple[float, ...] = (0.01, 0.05)  # shares of the baseline's steady RSS
    plant_kb: int | None = 512  # a plant of a fixed size too; None: none
    layout_seed: int | None = None  # each A/B run's layout seed is drawn from it
    max_repeat: int | None = None  # adaptive runs: add ABBA blocks up to this many a side
    noise: NoiseConfig = field(default_factory=NoiseConfig)

    def __post_init__(self) -> None:
        check_range("--trials", self.trials, 1, 1000)
        check_range("--repeat", self.repeat, 1, 1000)
        check_range("--cycles", self.cycles, 1, 1_000_000)
        if self.limits.max_regression is None:
            raise HarnessError("calibration needs the gate's --threshold")
        odd = [kind for kind in self.kinds if kind not in KINDS]
        if odd or not self.kinds:
            raise HarnessError(f"--kinds takes one or more of {', '.join(KINDS)}; got "
                               f"{', '.join(odd) or 'none'}")
        if any(not 0 < share < 1 for share in self.plants):
            raise HarnessError("--plants takes shares of the baseline's RSS such as 1%,5% (or "
                               "none), each above 0% and below 100%")
        if self.plant_kb is not None:
            check_range("--plant-kb", self.plant_kb, 1, 16 * 1024 * 1024)
        if "plants" in self.kinds and not self.plants and self.plant_kb is None:
            raise HarnessError("--kinds plants needs --plants or --plant-kb")
        if self.max_repeat is not None:
            check_range("--max-repeat", self.max_repeat, self.repeat, 1000)
        if self.max_repeat is not None:  # a design that cannot work: refused before trials
            check_design(self.limits, self.repeat, self.max_repeat)

    def trial_kinds(self) -> tuple[TrialKind, ...]:
        chosen: list[TrialKind] = []
        if "aa" in self.kinds:
            chosen.append(TrialKind("aa", BASELINE, planted=False))
        if "aa-layout" in self.kinds:
            chosen.append(TrialKind("aa-layout", PLANTED, planted=False,
                                    after_only_env=((PAD_ENV, "0"),)))
        if "plants" in self.kinds:
            chosen += [TrialKind(f"plant-{share * 100:g}%", PLANTED, True, share=share)
                       for share in self.plants]
            if self.plant_kb is not None:
                chosen.append(TrialKind(f"plant-{self.plant_kb}KB", PLANTED, True,
                                        pad_kb=self.plant_kb))
        return tuple(chosen)


def adaptive_fields(config: CalibrationConfig) -> dict[str, object]:
    """`AbPlan`'s sequential fields for `--max-repeat`: the gate's limits, so the run knows
    which verdicts must be clear, and the most repeats a side."""
    if config.max_repeat is None:
        return {}
    return {"limits": config.limits, "max_repeat": config.max_repeat}


@dataclass
class CalibrationResult:
    """The trials so far, with what they were run under; summaries are computed from them."""

    config: CalibrationConfig
    layout_seed: int | None = None  # as resolved: the one every A/B run's seed came from
    burners: tuple[Burner, ...] = ()
    baseline_rss_mb: float | None = None  # the first baseline's median steady RSS
    pads: dict[str, int] = field(default_factory=dict)  # plant kind -> its block (KiB)
    allowed: tuple[str, ...] = ()  # setup differences named as intended to the gate
    trials: list[Trial] = field(default_factory=list)

    @property
    def trials_done(self) -> int:
        """Trials with every kind judged (an interrupted one may have some of its kinds)."""
        return len(self.trials) // len(self.config.trial_kinds())

    def summaries(self) -> list[KindSummary]:
        kinds = dict.fromkeys(trial.kind for trial in self.trials)
        return [summarize(kind, [t for t in self.trials if t.kind == kind]) for kind in kinds]

    def kind(self, name: str) -> TrialKind:
        return next(kind for kind in self.config.trial_kinds() if kind.name == name)


def calibrate(config: CalibrationConfig, folder: Path, argv: tuple[str, ...] = (),
              on_trial: Callable[[CalibrationResult, Trial], None] | None = None,
              ) -> CalibrationResult:
    """Run every trial into sub-folders of `folder`, with the noise of `config.noise` running
    throughout; `on_trial` sees each trial as it is judged, so figures can be kept as they come.
    """
    result = CalibrationResult(config, layout_seed=resolve_layout_seed(config.layout_seed),
                               allowed=_intended())
    seeds = random.Random(result.layout_seed)
    with noisy_neighbour(config.noise) as neighbour:
        result.burners = neighbour.burners
        for number in range(1, config.trials + 1):
            for kind in config.trial_kinds():
                pad_kb = _pad_kb(result, kind, folder, seeds, argv)
                trial, before = _trial(config, kind, pad_kb, number, folder,
                                       seeds.randint(0, MAX_HASH_SEED), argv)
                if result.baseline_rss_mb is None:
                    result.baseline_rss_mb = _steady_rss(before)
                result.trials.append(trial)
                neighbour.check()  # a dead burner would make the next trials quieter
                if on_trial:
                    on_trial(result, trial)
    return result


def _pad_kb(result: CalibrationResult, kind: TrialKind, folder: Path, seeds: random.Random,
            argv: tuple[str, ...]) -> int | None:
    """The block of a plant (sized once, from the first baseline), or None for an A/A."""
    if not kind.planted:
        return None
    if kind.name not in result.pads:
        if kind.share is None:
            result.pads[kind.name] = kind.pad_kb
        else:
            if result.baseline_rss_mb is None:  # no A/A ran before it: a baseline of its own
                result.baseline_rss_mb = _steady_rss(_sizing_run(result.config, folder, seeds,
                                                                 argv))
            result.pads[kind.name] = pad_kb_for(result.baseline_rss_mb, kind.share)
    return result.pads[kind.name]


def _trial(config: CalibrationConfig, kind: TrialKind, pad_kb: int | None, number: int,
           folder: Path, layout_seed: int, argv: tuple[str, ...]) -> tuple[Trial, Run]:
    """One A/B run of `kind`, judged; wall time from its start to the verdict."""
    plan = ab_plan(config, kind, pad_kb, layout_seed)
    target = folder / f"trial-{number:03d}-{kind.folder_name}"
    started = time.monotonic()
    before, after = measure_ab(plan, new_folder(target), argv)
    for run in (before, after):
        _require_complete(run, number, kind, target)
    limits = replace(config.limits, allow_different=(*config.limits.allow_different,
                                                     *_allowed(kind)))
    verdict = judge(before, after, limits)
    wall_s = time.monotonic() - started
    fixed = (first_repeats(before), first_repeats(after))
    fixed_outcome = fixed_s = None
    if fixed[0] is not None and fixed[1] is not None:
        fixed_outcome = judge(fixed[0], fixed[1], limits).outcome
        fixed_s = fixed_wall_s(wall_s, {"before": repeat_seconds(before),
                                        "after": repeat_seconds(after)})
    return Trial(number, kind.name, verdict, max(len(before.repeats), len(after.repeats)),
                 wall_s, fixed_outcome, fixed_s), before


def ab_plan(config: CalibrationConfig, kind: TrialKind, pad_kb: int | None,
            layout_seed: int) -> AbPlan:
    """The A/B run of one trial of `kind`: both sides over one generated store."""
    shared: Env = () if pad_kb is None else ((PAD_ENV, str(pad_kb)),)
    return AbPlan(before=side_config(config, BASELINE, shared),
                  after=side_config(config, kind.after_store, shared + kind.after_only_env),
                  layout_seed=layout_seed, **adaptive_fields(config))


def side_config(config: CalibrationConfig, store: str, env: Env) -> RunConfig:
    return RunConfig(store=store, cycles=config.cycles, sample_every=max(1, config.cycles // 5),
                     repeat=config.repeat, reuse_loaded_store=True, label=f"{store}-reuse",
                     env=env, generate=generate_spec("calibrate", config.profile, 1,
                                                  config.target_kb, None))


def _allowed(kind: TrialKind) -> tuple[str, ...]:
    differs = kind.after_store != BASELINE or kind.after_only_env
    return _intended() if differs else ()


def _intended() -> tuple[str, ...]:
    """The intended differences the gate would otherwise refuse (see INTENDED_DIFFERENCES)."""
    return tuple(aspect for aspect in INTENDED_DIFFERENCES if aspect in ASPECTS)


def _require_complete(run: Run, number: int, kind: TrialKind, target: Path) -> None:
    if not run.complete:
        code = EXIT_INTERRUPTED if run.status == "interrupted" else EXIT_FAILED
        raise HarnessError(f"trial {number} ({kind.name}) {run.status}: {run.error} (see "
                           f"{target}; calibration.json has the trials before it)", code)


def _sizing_run(config: CalibrationConfig, folder: Path, seeds: random.Random,
                argv: tuple[str, ...]) -> Run:
    run = measure(side_config(config, BASELINE, ()), new_folder(folder / "sizing"), argv,
                  layout_seed=seeds.randint(0, MAX_HASH_SEED))
    if not run.complete:
        code = EXIT_INTERRUPTED if run.status == "interrupted" else EXIT_FAILED
        raise HarnessError(f"the run that sizes the plants {run.status}: {run.error}", code)
    return run


def _steady_rss(run: Run) -> float:
    return statistics.median(values_of(run, SIZING_METRIC))


def repeat_seconds(run: Run) -> list[float]:
    """Each repeat's worker lifetime in seconds, from its last background RSS reading (the
    sampler reads every `--interval-ms` from the worker's start until it exits)."""
    return [repeat.timeline[-1].time_ms / 1000 if repeat.timeline else 0.0
            for repeat in run.repeats]


def calibration_config(*, threshold: str, metrics: str, kinds: str, plants: str,
                       plant_kb: int, noise: str, noise_workers: int, noise_mb: int,
                       **options: object) -> CalibrationConfig:
    """The calibration's frozen configuration from the command line's values: `plants` as
    `1%,5%` or `none`, `plant_kb` 0 for no fixed plant."""
    return CalibrationConfig(
        limits=gate_limits({}, max_regression=threshold, metrics=metrics),
        kinds=names(kinds, "--kinds"), plants=parse_plants(plants),
        plant_kb=plant_kb or None,
        noise=NoiseConfig(kind=noise, workers=noise_workers, block_mb=noise_mb), **options)


def parse_plants(text: str) -> tuple[float, ...]:
    """`1%,5%` -> (0.01, 0.05); `none` or nothing -> ()."""
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        return tuple(parse_fraction(item) for item in names(text, "--plants"))
    except HarnessError:
        raise HarnessError(f"--plants takes shares such as 1%,5% (or none), got {text!r}"
                           ) from None
