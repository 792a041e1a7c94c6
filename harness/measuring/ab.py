"""`harness ab`: two store configurations measured interleaved over one shared store.

Drift on the machine (other load, thermal state, page cache) between two runs measured one
after the other is in no interval, and can pass for a change. Alternating their repeats (ABBA,
or a seeded random order) spreads it over both sides alike. Each side is written as a normal
run folder, so `compare`, `gate` and `report` read it unchanged.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from session_store_harness.errors import EXIT_FAILED, EXIT_INTERRUPTED, HarnessError
from session_store_harness.measuring.environment import capture
from session_store_harness.measuring.measure import save, scratch_folder
from session_store_harness.measuring.preflight import check_loadable
from session_store_harness.measuring.runner import (
    MAX_HASH_SEED,
    code_under_test,
    layouts,
    now,
    run_in_turn,
    run_repeat,
)
from session_store_harness.measuring.storefile import prepare_store
from session_store_harness.model.config import RunConfig, check_range
from session_store_harness.model.run import Run, StoreInfo, WorkerRun
from session_store_harness.writers.folder import create_folder, write_text

if TYPE_CHECKING:  # the judges load scipy: only a sequential plan needs them, when it runs
    from session_store_harness.judging.gate import GateLimits
    from session_store_harness.judging.sequential import Look

BEFORE, AFTER = "before", "after"
SIDES = (BEFORE, AFTER)
ORDERS = ("abba", "random")
AB_FILE = "ab.json"
MAX_REPEAT = 200


@dataclass(frozen=True)
class AbPlan:
    """What `harness ab` measures: two configs over one store, in `order`."""

    before: RunConfig
    after: RunConfig
    order: str = "abba"
    order_seed: int | None = None  # for --order random
    layout_seed: int | None = None  # the sides' layout seeds are drawn from it; None: fixed
    # sequential: from `before.repeat` a side, add ABBA blocks until every metric `limits`
    # gates is clear (`judging/sequential.py`), or `max_repeat` a side; None: a fixed design
    limits: GateLimits | None = None
    max_repeat: int | None = None

    def __post_init__(self) -> None:
        if self.max_repeat is not None:
            from session_store_harness.judging.sequential import check_design

            check_range("--max-repeat", self.max_repeat, 1, MAX_REPEAT)
            check_design(self.limits, self.before.repeat, self.max_repeat)

    @property
    def most(self) -> int:
        """The most repeats a side the plan can run."""
        return self.before.repeat if self.max_repeat is None else self.max_repeat

    @property
    def looks(self) -> tuple[int, ...]:
        """Repeats a side at which a sequential plan is judged; () for a fixed design."""
        if self.max_repeat is None:
            return ()
        from session_store_harness.judging.sequential import look_points

        return look_points(self.before.repeat, self.max_repeat)

    @property
    def sequence(self) -> tuple[str, ...]:
        return repeat_order(self.order, self.most, self.order_seed)

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
    """Which side runs each repeat, `repeat` of each, in pairs: ABBA ABBA..., or each pair in
    a seeded random order. The sides are level after every pair, so drift falls on both alike
    and a sequential run can stop at any pair."""
    if order == "abba":
        pairs = [(BEFORE, AFTER) if i % 2 == 0 else (AFTER, BEFORE) for i in range(repeat)]
    elif order == "random":
        rng = random.Random(seed)
        pairs = [(BEFORE, AFTER) if rng.random() < 0.5 else (AFTER, BEFORE)
                 for _ in range(repeat)]
    else:
        raise HarnessError(f"--order must be one of {', '.join(ORDERS)}, got {order!r}")
    return tuple(side for pair in pairs for side in pair)


def store_spec_of(config: RunConfig) -> str:
    """The `STORE[+reuse]` that names a side, as written."""
    return config.store + ("+reuse" if config.reuse_loaded_store else "")


def measure_ab(plan: AbPlan, folder: Path, argv: tuple[str, ...] = ()) -> tuple[Run, Run]:
    """Measure `plan` into the new, empty `folder`: `before/`, `after/` and ab.json."""
    folders = {side: create_folder(folder / side) for side in SIDES}
    runs, looks = _measured(plan, folders, folder, argv)
    kept, problems = {}, []
    for side in SIDES:
        kept[side], side_problems = save(runs[side], folders[side])
        problems += [f"{side}: {problem}" for problem in side_problems]
    write_text(folder / AB_FILE, ab_json(plan, looks, runs[BEFORE].interleaved_order))
    if problems:
        raise HarnessError("; ".join(problems), EXIT_FAILED)
    return kept[BEFORE], kept[AFTER]


def ab_json(plan: AbPlan, looks: tuple[Look, ...] = (),
            sequence: tuple[str, ...] | None = None) -> str:
    return json.dumps({
        "before": store_spec_of(plan.before), "after": store_spec_of(plan.after),
        "order": plan.order, "order_seed": plan.order_seed,
        "sequence": list(plan.sequence if sequence is None else sequence),
        "repeat": plan.before.repeat, "max_repeat": plan.max_repeat,
        "planned_looks": list(plan.looks),
        "gate": None if plan.limits is None else {
            "max_regression": plan.limits.max_regression, "metrics": list(plan.limits.metrics)},
        "looks": [look.as_dict() for look in looks],
        "layout_seed": plan.layout_seed,
        "side_layout_seeds": plan.side_layout_seeds, "folders": {s: s for s in SIDES},
    }, indent=2) + "\n"


def _measured(plan: AbPlan, folders: dict[str, Path], folder: Path, argv: tuple[str, ...]
              ) -> tuple[dict[str, Run], tuple[Look, ...]]:
    """Both runs, measured in a scratch folder that is gone when this returns or raises, and
    the looks a sequential plan took."""
    with scratch_folder(*folders.values(), folder) as scratch:
        try:
            for side in SIDES:
                check_loadable(plan.config(side).spec, dict(plan.config(side).env))
            pristine, store = prepare_store(plan.before, Path(scratch))  # one store for both
            measured = _Interleaved(plan, store, argv, now())
            measured.run(pristine, Path(scratch))
        except (HarnessError, KeyboardInterrupt):
            for empty in (*folders.values(), folder):  # nothing ran: no empty result
                empty.rmdir()
            raise
    return measured.runs(now()), tuple(measured.looks)


@dataclass
class _Interleaved:
    """The repeats of both sides so far, and the looks taken at them."""

    plan: AbPlan
    store: StoreInfo
    argv: tuple[str, ...]
    started_at: str
    done: dict[str, list[WorkerRun]] = field(default_factory=lambda: {s: [] for s in SIDES})
    looks: list[Look] = field(default_factory=list)
    turns: int = 0
    stopped: bool = False  # a sequential run ended at a look: clear, or at its most repeats
    environments: dict[str, dict] = field(default_factory=dict)

    def run(self, pristine: Path, scratch: Path) -> None:
        """The repeats in `plan.sequence`, each a fresh worker on a fresh copy; stops at the
        first that does not complete, as `run_repeats` does, since later ones would not be
        comparable, or at a look where every verdict is clear."""
        plan, seeds = self.plan, self.plan.side_layout_seeds
        drawn = {side: layouts(seeds[side], plan.config(side).runtime,
                               dict(plan.config(side).env)) for side in SIDES}
        sequence = plan.sequence

        def step(turn: int, first: bool) -> WorkerRun:
            side = sequence[turn]
            self.done[side].append(run_repeat(plan.config(side), pristine,
                                              scratch / f"{side}-{len(self.done[side]) + 1}",
                                              next(drawn[side]), first=first))
            self.turns = turn + 1
            return self.done[side][-1]

        run_in_turn(step, len(sequence), self._enough if plan.looks else None)

    def _enough(self, turns: int) -> bool:
        """At a planned look, whether every gated verdict is clear."""
        if turns % 2 or turns // 2 not in self.plan.looks:
            return False
        from session_store_harness.judging.sequential import judge_look

        before, after = self.runs(now(), stopped=True).values()
        assert self.plan.limits is not None  # checked by AbPlan
        self.looks.append(judge_look(before, after, self.plan.limits, len(self.plan.looks)))
        self.stopped = self.looks[-1].clear or turns // 2 == self.plan.most
        return self.looks[-1].clear

    def runs(self, finished_at: str, stopped: bool | None = None) -> dict[str, Run]:
        """Each side's run so far. A sequential run that stopped at a look, clear or at its
        most, ran all it meant to: its `config.repeat` is what it ran."""
        stopped = self.stopped if stopped is None else stopped
        return {side: self._side_run(side, finished_at, stopped) for side in SIDES}

    def _side_run(self, side: str, finished_at: str, stopped: bool) -> Run:
        plan, repeats = self.plan, self.done[side]
        config = plan.config(side)
        if stopped:
            config = replace(config, repeat=len(repeats))
        if side not in self.environments:  # once: it runs git, and looks come often
            self.environments[side] = capture(dict(config.env), code_under_test(config))
        return Run(config=config, environment=self.environments[side], store=self.store,
                   started_at=self.started_at, finished_at=finished_at, repeats=tuple(repeats),
                   argv=self.argv, layout_seed=plan.side_layout_seeds[side],
                   interleaved_with=AFTER if side == BEFORE else BEFORE,
                   interleaved_order=plan.sequence[:self.turns],
                   planned_looks=max(1, len(plan.looks)), max_repeat=plan.max_repeat)


def require_complete(runs: tuple[Run, Run]) -> None:
    """A side that did not complete ends the command with its own code (1 failed, 130
    interrupted) and its error, partial results kept: nothing half-measured is judged."""
    for side, run in zip(SIDES, runs, strict=True):
        if run.status != "complete":
            raise HarnessError(f"{side} run {run.status}: {run.error} (partial results kept)",
                               EXIT_INTERRUPTED if run.status == "interrupted" else EXIT_FAILED)
