"""Before/after differences of two runs, whether the two runs can be compared at all, and the
caveats beside them. Pure: runs in, a `Comparison` out.

Two runs are comparable when they ran the same workload the same way: the same cycle
(`--workload`: a whole-store load + update, or one entry's get + update), store bytes, profile,
cycles, sampling, warm-up, keys and fields touched, trimming, heap measure, runtime (as
the worker reports it), worker (the harness's, or a --worker-cmd program) and machine. What
differs between them is meant to be the code under test (store, reuse); anything else is a
`Mismatch`, which the gate refuses to judge unless the user names it as intended
(`--allow-different`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from session_store_harness.judging.catalog import HEAP_METRICS
from session_store_harness.judging.levels import level_for, planned_looks
from session_store_harness.judging.metrics import (
    METRICS,
    TIME_METRICS,
    Metric,
    repeat_metrics,
    values_in,
)
from session_store_harness.judging.stats import ALPHA, Difference, difference, min_repeats
from session_store_harness.model.run import Run
from session_store_harness.model.store_spec import WORKER_COMMAND


@dataclass(frozen=True)
class Mismatch:
    """One way the two runs' setups differ: `key` is what `--allow-different` names."""

    key: str
    before: str
    after: str

    def describe(self) -> str:
        return f"{ASPECTS[self.key][0]} differs ({self.before} vs {self.after})"


def _workload(run: Run) -> str:
    spec = run.config.generate
    return "file" if spec is None else spec.profile


def _machine(run: Run) -> str:
    """Where the run was measured: platform, CPUs and memory (a runner of another kind, or
    another machine, moves every figure)."""
    env = run.environment
    memory = env.get("memory_total_bytes")
    return (f"{env.get('platform', {}).get('description', '?')}, {env.get('cpu_count', '?')} "
            f"CPUs, {'?' if memory is None else f'{memory / 2**30:.1f} GiB'}")


def _worker(run: Run) -> str:
    """Who ran the cycles: the harness's own worker (Python or Node, told apart by the
    runtime), or a --worker-cmd program, whose loop and measuring are its own."""
    spec = run.config.spec
    return f"worker command {spec.command[0]}" if spec.kind == WORKER_COMMAND \
        else "harness worker"


ASPECTS: dict[str, tuple[str, Callable[[Run], object]]] = {
    "store-file": ("the store file (SHA-256)", lambda run: run.store.sha256[:12]),
    "profile": ("the store profile", _workload),
    "runtime": ("the runtime", lambda run: run.runtime),
    "worker": ("the worker (the harness's or a --worker-cmd program)", _worker),
    "machine": ("the machine", _machine),
    "heap": ("the heap measure", lambda run: run.heap_measure),
    "cycles": ("the cycle count", lambda run: run.last_cycle),
    "sample-every": ("the sampling interval (--sample-every)",
                     lambda run: run.config.sample_every),
    "warmup": ("the warm-up cycles", lambda run: run.config.warmup_cycles),
    "touch-keys": ("the keys touched per cycle", lambda run: run.config.touch_keys),
    "touch-fields": ("the fields each cycle sets (--touch-fields)",
                     lambda run: ",".join(run.config.touch_fields)),
    "trim": ("trimming before samples (--trim)", lambda run: run.config.trim),
    # a full cycle and an entry cycle do different work: their figures are not one change
    "workload": ("the workload (--workload)", lambda run: run.config.workload),
}


def mismatches(before: Run, after: Run) -> tuple[Mismatch, ...]:
    """Every aspect of the setup that differs between the runs."""
    found = []
    for key, (_label, read) in ASPECTS.items():
        old, new = read(before), read(after)
        if old != new:
            found.append(Mismatch(key, str(old), str(new)))
    return tuple(found)


@dataclass(frozen=True)
class MetricComparison:
    """One metric in both runs."""

    metric: Metric
    difference: Difference


@dataclass(frozen=True)
class Comparison:
    """Two runs side by side: the setup differences first, then the figures."""

    before: Run
    after: Run
    metrics: tuple[MetricComparison, ...]
    mismatches: tuple[Mismatch, ...]
    warnings: tuple[str, ...]
    alpha: float = ALPHA  # the level each metric was tested at

    @property
    def min_repeats(self) -> int:
        """The fewest repeats a side with which any change can be significant at `alpha`."""
        return min_repeats(self.alpha)

    def get(self, name: str) -> MetricComparison | None:
        return next((m for m in self.metrics if m.metric.name == name), None)

    def unintended(self, allowed: Iterable[str] = ()) -> tuple[Mismatch, ...]:
        allowed = set(allowed)
        return tuple(m for m in self.mismatches if m.key not in allowed)


def comparable_metrics(before: Run, after: Run) -> tuple[Metric, ...]:
    """Timings of traced and untraced runs are never compared: tracing slows runs 3-8x."""
    if before.heap_measure == after.heap_measure:
        return METRICS
    return tuple(m for m in METRICS if m.name not in TIME_METRICS | HEAP_METRICS)


def compare_runs(before: Run, after: Run, alpha: float | None = None) -> Comparison:
    """Every metric both runs have, each tested at `alpha` (default: 0.05 over the looks of the
    runs' sequential design, if any; the gate passes a level split over its metrics too)."""
    level = level_for(looks=planned_looks(before, after)) if alpha is None else alpha
    rows = []
    figures = repeat_metrics(before), repeat_metrics(after)  # once: each walks every cycle
    for metric in comparable_metrics(before, after):
        old, new = values_in(figures[0], metric.name), values_in(figures[1], metric.name)
        if old and new:
            rows.append(MetricComparison(metric, difference(old, new, metric.floor, level)))
    found = mismatches(before, after)
    return Comparison(before, after, tuple(rows), found,
                      tuple(_caveats(before, after, rows, min_repeats(level))), level)


def _caveats(before: Run, after: Run, rows: list[MetricComparison],
             needed: int) -> list[str]:
    """What the reader must know besides the setup differences (`Comparison.mismatches`)."""
    warnings = []
    if _measured_apart(before, after):
        warnings.append("the runs were measured apart, one after the other: drift on the "
                        "machine between them is not covered by any interval")
    if dict(before.config.env) != dict(after.config.env):
        warnings.append(f"the worker environments differ (--env): {_env(before)} vs "
                        f"{_env(after)}; part of what is compared, and a layout change too")
    for role, run in (("before", before), ("after", after)):
        if not run.complete:
            warnings.append(f"{role} ({run.name}) is incomplete ({run.status}: {run.error}); "
                            "its figures stop early")
        if len(run.measured) < needed:
            warnings.append(f"{role} ({run.name}) has {len(run.measured)} repeat(s): at least "
                            f"{needed} a side are needed for any change to be significant "
                            f"(use --repeat {max(5, needed)})")
    if before.heap_measure != after.heap_measure:
        warnings.append("heap and times are left out: tracing slows a run several times")
    if before.peak_method != after.peak_method:
        warnings.append(f"peak RSS was taken differently ({before.peak_method} before, "
                        f"{after.peak_method} after): a lifetime peak counts start-up and "
                        "warm-up, a per-interval one the measured cycles only")
    noisy = [row.metric.label for row in rows if row.difference.noisy]
    if noisy:
        warnings.append("noisy: the spread between repeats is larger than the change for "
                        + ", ".join(noisy))
    return warnings


def _env(run: Run) -> str:
    return ", ".join(f"{name}={value}" for name, value in run.config.env) or "none"


def _measured_apart(before: Run, after: Run) -> bool:
    """True unless the runs were measured interleaved (`harness ab`: each names the other's
    folder) or one started before the other finished (ISO 8601 times compare as text)."""
    if before.folder and after.folder and (before.interleaved_with, after.interleaved_with) == (
            after.folder.name, before.folder.name):
        return False
    return before.finished_at <= after.started_at or after.finished_at <= before.started_at
