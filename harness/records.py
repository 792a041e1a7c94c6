"""Records that cross a boundary: what a run measured, kept raw (bytes, milliseconds)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from harness.config import RunConfig

Status = Literal["complete", "failed", "interrupted"]
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
    """One worker process: everything it measured, raw, and how it ended."""

    worker: WorkerInfo
    status: Status
    samples: tuple[Sample, ...] = ()
    cycles: tuple[CycleTiming, ...] = ()
    timeline: tuple[TimelinePoint, ...] = ()
    kernel_peak_rss_bytes: int | None = None  # the worker's VmHWM, read just before it exited
    error: str | None = None


@dataclass(frozen=True)
class Run:
    """A `harness run`: its configuration, environment, store, and one `WorkerRun` per repeat."""

    config: RunConfig
    environment: dict[str, Any]
    store: StoreInfo
    started_at: str
    finished_at: str
    repeats: tuple[WorkerRun, ...] = ()
    argv: tuple[str, ...] = field(default_factory=tuple)

    @property
    def status(self) -> Status:
        if len(self.repeats) == self.config.repeat and all(
                r.status == "complete" for r in self.repeats):
            return "complete"
        failed = [r.status for r in self.repeats if r.status != "complete"]
        return failed[0] if failed else "interrupted"

    @property
    def error(self) -> str | None:
        errors = [f"repeat {i}: {r.error}" for i, r in enumerate(self.repeats, 1) if r.error]
        return "; ".join(errors) or None
