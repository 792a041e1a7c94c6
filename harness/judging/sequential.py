"""When an interleaved run may stop early: the gate's outcome is clear.

`harness ab --max-repeat N` looks at its figures after the first `--repeat` repeats a side and
after every ABBA block (2 a side) that follows, up to N. A metric is clear when the gate's
verdict on it can no longer be overturned by chance at the run's test level:
- fail: significantly changed and over the threshold (the gate's own failing rule);
- pass: the repeats show the change stays under the threshold (one-sided exact Mann-Whitney of
  "after is less than threshold above before"), which a pass on the point figure alone does not.
One clear fail settles the gate (it fails if any metric does); a pass needs every metric clear.

Peeking after every block is paid for, not ignored: every look is planned in advance and each
test at each look runs at 0.05 split over the gated metrics and the planned looks
(`judging/levels.py`), so the chance of any false verdict over the whole run stays under 5%
whenever it stops. The gate that later judges the run's folders spends its level the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from session_store_harness.errors import HarnessError
from session_store_harness.judging.compare import compare_runs
from session_store_harness.judging.gate import (
    GateLimits,
    regression_outcome,
    threshold_change,
)
from session_store_harness.judging.levels import level_for
from session_store_harness.judging.metrics import values_of
from session_store_harness.judging.stats import can_be_significant, min_repeats, under_margin_p
from session_store_harness.model.run import Run

Clarity = Literal["fail", "pass", "open"]
BLOCK = 2  # repeats a side per ABBA block: the sides are level after every block


def look_points(repeat: int, max_repeat: int) -> tuple[int, ...]:
    """The repeats a side at which the run is judged: `repeat`, then every block, then max."""
    points = list(range(repeat, max_repeat, BLOCK))
    return (*points, max_repeat)


def check_design(limits: GateLimits | None, repeat: int, max_repeat: int) -> None:
    """A usage error for a sequential design that cannot work, before anything is measured."""
    if limits is None or limits.max_regression is None:
        raise HarnessError("--max-repeat needs --max-regression: the run stops when the gate's "
                           "verdict on every metric is clear")
    if max_repeat < repeat:
        raise HarnessError(f"--max-repeat {max_repeat} is below --repeat {repeat}")
    looks = len(look_points(repeat, max_repeat))
    level = level_for(len(limits.metrics), looks)
    needed = min_repeats(level)
    if repeat < needed:
        raise HarnessError(f"--repeat {repeat} can never be significant at p < {level:.4g} "
                           f"({len(limits.metrics)} metrics x {looks} looks): start at "
                           f"--repeat {needed} or more")


@dataclass(frozen=True)
class Look:
    """The verdicts' state after `repeats` repeats a side."""

    repeats: int
    clarity: dict[str, Clarity]

    @property
    def clear(self) -> bool:
        """The gate's outcome is settled: one clear fail fails it, whatever the others say;
        a pass needs every metric clear."""
        states = set(self.clarity.values())
        return "fail" in states or states <= {"pass"}

    def as_dict(self) -> dict[str, object]:
        return {"repeats": self.repeats, "clear": self.clear, "metrics": self.clarity}


def judge_look(before: Run, after: Run, limits: GateLimits, looks: int) -> Look:
    """Which gated metrics are clear, with every test at the level `looks` planned looks give."""
    level = level_for(len(limits.metrics), looks)
    comparison = compare_runs(before, after, level)
    threshold = limits.max_regression or 0.0
    clarity: dict[str, Clarity] = {}
    for name in limits.metrics:
        row = comparison.get(name)
        if row is None:  # no figures: never clear; the gate says why at the end
            clarity[name] = "open"
            continue
        if regression_outcome(row, threshold)[0] == "fail":
            clarity[name] = "fail"
            continue
        old, new = values_of(before, name), values_of(after, name)
        shown_under = (can_be_significant(len(old), len(new), level)
                       and under_margin_p(old, new, threshold_change(row, threshold)) < level)
        clarity[name] = "pass" if shown_under else "open"
    return Look(len(before.measured), clarity)
