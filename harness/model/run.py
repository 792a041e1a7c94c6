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

# How a repeat's peak RSS was measured (stable identifiers, written to meta.json):
# - the kernel's high-water mark reset at each sample (`/proc/PID/clear_refs`), so each
#   interval's peak is the kernel's own and start-up and warm-up (before sample 0) are left out;
# - where it cannot be reset, the kernel's lifetime mark and the harness's readings, as before:
#   start-up and warm-up count. Folders written before the reset existed are this kind.
PEAK_PER_INTERVAL = "kernel-per-interval"
PEAK_LIFETIME = "kernel-lifetime+sampled"
PEAK_METHODS = {PEAK_PER_INTERVAL: "kernel peak per interval, warm-up excluded",
                PEAK_LIFETIME: "kernel lifetime peak + sampled, warm-up included"}


@dataclass(frozen=True)
class Sample:
    """The worker's state after `cycle` cycles; RSS read by the runner while the worker waits."""

    cycle: int
    elapsed_ms: float  # cumulative time in cycles since the first began, sampling excluded
    rss_bytes: int
    # the highest RSS the harness read since the previous sample: background readings and this
    sampled_peak_rss_bytes: int
    heap_bytes: int  # resting: live heap at the sample (the worker's `--heap` measure)
    external_bytes: int
    store_bytes: int
    untrimmed_rss_bytes: int | None = None  # with --trim: RSS just before trimming
    # the kernel's high-water mark since the previous sample (at cycle 0: since the worker
    # started), read before the runner reset it; None where it could not be reset
    kernel_peak_rss_bytes: int | None = None
    # the traced heap's peak since the previous sample (tracemalloc's `reset_peak`); None
    # where the heap measure has no cheap peak (allocator, V8)
    heap_peak_bytes: int | None = None

    @property
    def peak_rss_bytes(self) -> int:
        """The interval's peak: the kernel's figure, or a higher reading the harness took (the
        kernel folds per-CPU RSS counters in batches, so its mark can lag a reading)."""
        return max(self.sampled_peak_rss_bytes, self.kernel_peak_rss_bytes or 0)


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
    # the entry workload: how the store's `get` and `update_entry` were served, each "native"
    # (the store's own method) or "fallback" (the harness's, over load and update); None for
    # the full workload
    entry_api: dict[str, str] | None = None


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
    # the worker's VmHWM read just before it exited: since the last sample's reset with
    # PEAK_PER_INTERVAL (the tail of the run), over its whole life with PEAK_LIFETIME
    kernel_peak_rss_bytes: int | None = None
    error: str | None = None
    # the worker's environment layout ({"pad_bytes", "hash_seed", ...}); None: the fixed one
    layout: dict[str, int] | None = None
    started_at: str | None = None  # when the worker was started (to the microsecond)
    peak_method: str = PEAK_LIFETIME  # a key of PEAK_METHODS
    peak_reset_error: str | None = None  # why the kernel's mark could not be reset, if not

    def _peak_span(self) -> tuple[tuple[Sample, ...], tuple[TimelinePoint, ...]]:
        """The samples and background readings the peak covers: with per-interval resets,
        those after sample 0 (cycle >= 1: a point taken during cycle 1 is in sample 1's
        sampled peak), so start-up and warm-up are left out; otherwise all of them."""
        if self.peak_method != PEAK_PER_INTERVAL:
            return self.samples, self.timeline
        return (tuple(s for s in self.samples if s.cycle >= 1),
                tuple(p for p in self.timeline if p.cycle >= 1))

    @property
    def sampled_peak_rss_bytes(self) -> int | None:
        """The highest RSS the harness itself read over the span the peak covers (a sample's
        sampled peak already covers its own reading and the points before it)."""
        samples, points = self._peak_span()
        return max([*(s.sampled_peak_rss_bytes for s in samples),
                    *(p.rss_bytes for p in points)], default=None)

    @property
    def peak_rss_bytes(self) -> int | None:
        """The peak that reports and gates use: never below a reading taken in its span.

        The kernel's `VmHWM` is updated from per-CPU RSS counters folded in batches, so it was
        seen 0.02-0.25 MB below an RSS the harness read a moment earlier; the highest of both is
        the honest peak. With per-interval resets: the highest interval peak of cycles >= 1 and
        the kernel's mark of the tail after the last sample; else the lifetime mark.
        """
        samples, _ = self._peak_span()
        figures = [*(s.peak_rss_bytes for s in samples), self.kernel_peak_rss_bytes,
                   self.sampled_peak_rss_bytes]
        return max((f for f in figures if f is not None), default=None)


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
    def peak_method(self) -> str:
        """How the measured repeats' peaks were taken; repeats that differ are named each."""
        methods = dict.fromkeys(r.peak_method for r in self.measured)
        return " / ".join(methods) or PEAK_LIFETIME

    @property
    def entry_api(self) -> dict[str, str] | None:
        """How the entry workload's methods were served (`WorkerInfo.entry_api`), as the
        first repeat that said; None for the full workload."""
        return next((r.worker.entry_api for r in self.repeats if r.worker.entry_api), None)

    @property
    def runtime(self) -> str:
        """What ran the store: the worker's own word (`cpython 3.11.7`, `node v20...`)."""
        return next((r.worker.runtime for r in self.repeats if r.worker.runtime),
                    self.config.runtime)
