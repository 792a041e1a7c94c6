"""The run model: what a `harness run` measured, kept raw (bytes, milliseconds), in records.

One model for a run in memory, written to and loaded from its result folder by
`model/result_folder.py` only. Figures derived from the raw data (peaks, slopes, medians) are
computed from it: `meta.json` and `summary.json` show some of them to readers, but loading never
reads them back, so the raw data stays the one source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from session_store_harness.model.config import RunConfig

Status = Literal["complete", "failed", "interrupted"]
STATUSES: tuple[Status, ...] = ("complete", "failed", "interrupted")
MB = 1024 * 1024  # MB in every figure and column name means MiB, as in the original figures
KB = 1024


@dataclass(frozen=True)
class Sample:
    """The worker's state after `cycle` cycles; RSS read by the runner while the worker waits."""

    cycle: int
    elapsed_ms: float  # cumulative time in cycles since the first began, sampling excluded
    rss_bytes: int
    peak_rss_bytes: int  # highest RSS seen since the previous sample (sampled + this reading)
    heap_bytes: int
    external_bytes: int
    store_bytes: int
    untrimmed_rss_bytes: int | None = None  # with --trim: RSS just before trimming


@dataclass(frozen=True)
class CycleTiming:
    """One cycle's load and update times and what the update did."""

    cycle: int
    load_ms: float
    update_ms: float
    wrote: bool
    reused_base: bool

    @property
    def cycle_ms(self) -> float:
        return self.load_ms + self.update_ms


@dataclass(frozen=True)
class TimelinePoint:
    """One background RSS reading of the worker."""

    time_ms: float  # since the worker was started
    rss_bytes: int
    cycle: int  # cycles completed when the reading was taken


@dataclass(frozen=True)
class WorkerInfo:
    """What the worker said of itself and how it ended."""

    pid: int | None = None
    runtime: str | None = None
    heap_measure: str | None = None
    exit_code: int | None = None
    stderr_tail: str = ""


@dataclass(frozen=True)
class StoreInfo:
    """The store file a run measured (the copy in the scratch folder, before the first cycle)."""

    source: str  # the user's file, or "generated"
    size_bytes: int
    sha256: str
    entries: int | None = None


@dataclass(frozen=True)
class WorkerRun:
    """One worker process (one repeat): everything it measured, raw, and how it ended."""

    worker: WorkerInfo
    status: Status
    samples: tuple[Sample, ...] = ()
    cycles: tuple[CycleTiming, ...] = ()
    timeline: tuple[TimelinePoint, ...] = ()
    kernel_peak_rss_bytes: int | None = None  # the worker's VmHWM, read just before it exited
    error: str | None = None
    # the worker's environment layout ({"pad_bytes", "hash_seed", ...}); None: the fixed one
    layout: dict[str, int] | None = None
    started_at: str | None = None  # when the worker was started (to the microsecond)

    @property
    def sampled_peak_rss_bytes(self) -> int | None:
        """The highest RSS the harness itself read: every sample and every timeline point (a
        sample's `peak_rss_bytes` already covers its own reading and the points before it)."""
        return max([*(s.peak_rss_bytes for s in self.samples),
                    *(p.rss_bytes for p in self.timeline)], default=None)

    @property
    def peak_rss_bytes(self) -> int | None:
        """The peak that reports and gates use: never below a reading taken.

        The kernel's `VmHWM` is updated from per-thread RSS counters that lag the true figure
        (Linux batches them, `SPLIT_RSS_COUNTING`), so it was seen 0.02-0.25 MB below an RSS the
        harness read a moment earlier; the highest of both is the honest peak.
        """
        figures = [f for f in (self.kernel_peak_rss_bytes, self.sampled_peak_rss_bytes)
                   if f is not None]
        return max(figures, default=None)


@dataclass(frozen=True)
class Run:
    """A `harness run`: its configuration, environment, store, and one `WorkerRun` per repeat.

    `folder` is where the run was written or loaded from (None before it is written).
    """

    config: RunConfig
    environment: dict[str, Any]
    store: StoreInfo
    started_at: str
    finished_at: str
    repeats: tuple[WorkerRun, ...] = ()
    argv: tuple[str, ...] = field(default_factory=tuple)
    folder: Path | None = None
    layout_seed: int | None = None  # what each repeat's layout was drawn from; None: fixed
    # `harness ab`: the other side's folder name, and which side ran each repeat, in order
    interleaved_with: str | None = None
    interleaved_order: tuple[str, ...] = ()
    # `harness ab --max-repeat`: the looks its sequential design planned (1: a fixed design),
    # over which every test on this run spends its significance level, and the most repeats a
    # side it could have run (`config.repeat` is what it did run)
    planned_looks: int = 1
    max_repeat: int | None = None

    @property
    def status(self) -> Status:
        if len(self.repeats) == self.config.repeat and all(
                r.status == "complete" for r in self.repeats):
            return "complete"
        failed = [r.status for r in self.repeats if r.status != "complete"]
        return failed[0] if failed else "interrupted"

    @property
    def complete(self) -> bool:
        return self.status == "complete"

    @property
    def error(self) -> str | None:
        errors = [f"repeat {i}: {r.error}" for i, r in enumerate(self.repeats, 1) if r.error]
        return "; ".join(errors) or None

    @property
    def name(self) -> str:
        return self.config.label or (self.folder.name if self.folder else self.config.store)

    @property
    def measured(self) -> tuple[WorkerRun, ...]:
        """The repeats that produced samples: the ones figures can be taken from."""
        return tuple(r for r in self.repeats if r.samples)

    @property
    def last_cycle(self) -> int:
        return max((s.cycle for r in self.repeats for s in r.samples), default=0)

    @property
    def heap_measure(self) -> str | None:
        return next((r.worker.heap_measure for r in self.repeats if r.worker.heap_measure),
                    None)

    @property
    def runtime(self) -> str:
        """What ran the store: the worker's own word (`cpython 3.11.7`, `node v20...`)."""
        return next((r.worker.runtime for r in self.repeats if r.worker.runtime),
                    self.config.runtime)
