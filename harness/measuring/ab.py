"""`harness ab`: two store configurations measured interleaved over one shared store.

Drift on the machine (other load, thermal state, page cache) between two runs measured one
after the other is in no interval, and can pass for a change. Alternating their repeats (ABBA,
or a seeded random order) spreads it over both sides alike. Each side is written as a normal
run folder, so `compare`, `gate` and `report` read it unchanged.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from session_store_harness.errors import EXIT_FAILED, HarnessError
from session_store_harness.measuring.environment import capture
from session_store_harness.measuring.measure import save, scratch_folder
from session_store_harness.measuring.runner import (
    MAX_HASH_SEED,
    layouts,
    now,
    run_in_turn,
    run_repeat,
    store_source,
)
from session_store_harness.measuring.storefile import prepare_store
from session_store_harness.model.config import RunConfig
from session_store_harness.model.run import Run, StoreInfo, WorkerRun
from session_store_harness.writers.folder import create_folder, write_text

BEFORE, AFTER = "before", "after"
SIDES = (BEFORE, AFTER)
ORDERS = ("abba", "random")
AB_FILE = "ab.json"


@dataclass(frozen=True)
class AbPlan:
    """What `harness ab` measures: two configs over one store, in `order`."""

    before: RunConfig
    after: RunConfig
    order: str = "abba"
    order_seed: int | None = None  # for --order random
    layout_seed: int | None = None  # the sides' layout seeds are drawn from it; None: fixed

    @property
    def sequence(self) -> tuple[str, ...]:
        return repeat_order(self.order, self.before.repeat, self.order_seed)

    @property
    def side_layout_seeds(self) -> dict[str, int | None]:
        # one seed per side, so each side's layouts are drawn independently of the other's
        if self.layout_seed is None:
            return dict.fromkeys(SIDES)
        rng = random.Random(self.layout_seed)
        return {side: rng.randint(0, MAX_HASH_SEED) for side in SIDES}

    def config(self, side: str) -> RunConfig:
        return self.before if side == BEFORE else self.after


def repeat_order(order: str, repeat: int, seed: int | None = None) -> tuple[str, ...]:
    """Which side runs each repeat: ABBA ABBA... or a seeded shuffle, `repeat` of each."""
    if order == "abba":
        pairs = [(BEFORE, AFTER) if i % 2 == 0 else (AFTER, BEFORE) for i in range(repeat)]
        return tuple(side for pair in pairs for side in pair)
    if order != "random":
        raise HarnessError(f"--order must be one of {', '.join(ORDERS)}, got {order!r}")
    sides = [BEFORE, AFTER] * repeat
    random.Random(seed).shuffle(sides)
    return tuple(sides)


def store_spec_of(config: RunConfig) -> str:
    """The `STORE[+reuse]` spec that names a side."""
    return config.store + ("+reuse" if config.reuse_loaded_store else "")


def measure_ab(plan: AbPlan, folder: Path, argv: tuple[str, ...] = ()) -> tuple[Run, Run]:
    """Measure `plan` into the new, empty `folder`: `before/`, `after/` and ab.json."""
    folders = {side: create_folder(folder / side) for side in SIDES}
    runs = _measured(plan, folders, folder, argv)
    kept, problems = {}, []
    for side in SIDES:
        kept[side], side_problems = save(runs[side], folders[side])
        problems += [f"{side}: {problem}" for problem in side_problems]
    write_text(folder / AB_FILE, ab_json(plan))
    if problems:
        raise HarnessError("; ".join(problems), EXIT_FAILED)
    return kept[BEFORE], kept[AFTER]


def ab_json(plan: AbPlan) -> str:
    return json.dumps({
        "before": store_spec_of(plan.before), "after": store_spec_of(plan.after),
        "order": plan.order, "order_seed": plan.order_seed, "sequence": list(plan.sequence),
        "repeat": plan.before.repeat, "layout_seed": plan.layout_seed,
        "side_layout_seeds": plan.side_layout_seeds, "folders": {s: s for s in SIDES},
    }, indent=2) + "\n"


def _measured(plan: AbPlan, folders: dict[str, Path], folder: Path,
              argv: tuple[str, ...]) -> dict[str, Run]:
    """Both runs, measured in a scratch folder that is gone when this returns or raises."""
    with scratch_folder(*folders.values(), folder) as scratch:
        try:
            pristine, store = prepare_store(plan.before, Path(scratch))  # one store for both
            started_at = now()
            repeats = _interleaved(plan, pristine, Path(scratch))
        except (HarnessError, KeyboardInterrupt):
            for empty in (*folders.values(), folder):  # nothing ran: no empty result
                empty.rmdir()
            raise
        finished_at = now()
    return {side: _side_run(plan, side, store, repeats[side], (started_at, finished_at), argv)
            for side in SIDES}


def _interleaved(plan: AbPlan, pristine: Path, scratch: Path) -> dict[str, list[WorkerRun]]:
    """The repeats in `plan.sequence`, each a fresh worker on a fresh copy; stops at the first
    that does not complete, as `run_repeats` does, since later ones would not be comparable."""
    seeds = plan.side_layout_seeds
    drawn = {side: layouts(seeds[side], plan.config(side).runtime, dict(plan.config(side).env))
             for side in SIDES}
    sequence = plan.sequence
    done: dict[str, list[WorkerRun]] = {side: [] for side in SIDES}

    def step(turn: int, first: bool) -> WorkerRun:
        side = sequence[turn]
        done[side].append(run_repeat(plan.config(side), pristine,
                                     scratch / f"{side}-{len(done[side]) + 1}",
                                     next(drawn[side]), first=first))
        return done[side][-1]

    run_in_turn(step, len(sequence))
    return done


def _side_run(plan: AbPlan, side: str, store: StoreInfo, repeats: list[WorkerRun],
              span: tuple[str, str], argv: tuple[str, ...]) -> Run:
    config = plan.config(side)
    other = AFTER if side == BEFORE else BEFORE
    environment = capture(dict(config.env), {"store": store_source(config)})
    return Run(config=config, environment=environment, store=store, started_at=span[0],
               finished_at=span[1], repeats=tuple(repeats), argv=argv,
               layout_seed=plan.side_layout_seeds[side], interleaved_with=other,
               interleaved_order=plan.sequence)
