"""Runs with known figures, built in memory as the run model, for the pure judges and writers."""

from __future__ import annotations

import csv
from pathlib import Path

from session_store_harness.generating.generator import GenerateSpec
from session_store_harness.model.config import RunConfig
from session_store_harness.model.run import (
    MB,
    CycleTiming,
    Run,
    Sample,
    StoreInfo,
    TimelinePoint,
    WorkerInfo,
    WorkerRun,
)


def fake_run(name: str, rss: list[float], cycle_ms: float, peak: float,
             heap_measure: str = "allocator", sha: str = "abc", status: str = "complete",
             repeats: int = 1, jitter: float = 0.0, runtime: str = "python",
             started_at: str = "2026-11-27T05:00:00+00:00") -> Run:
    """A run whose figures are known: repeat r adds (r - 1) * jitter to every RSS, time and
    kernel peak; samples every 10 cycles from cycle 0."""
    cycles = list(range(0, 10 * len(rss), 10))
    workers = []
    for r in range(1, repeats + 1):
        shift = (r - 1) * jitter
        samples = tuple(Sample(cycle=c, elapsed_ms=c * cycle_ms, rss_bytes=_b(v + shift),
                               sampled_peak_rss_bytes=_b(v + shift), heap_bytes=_b(10.0),
                               external_bytes=_b(1.0), store_bytes=7600 * 1024)
                        for c, v in zip(cycles, rss, strict=True))
        timings = tuple(CycleTiming(c, (cycle_ms + shift) / 2, (cycle_ms + shift) / 2, True,
                                    False) for c in range(1, cycles[-1] + 1))
        failed = status != "complete" and r == repeats
        workers.append(WorkerRun(
            worker=WorkerInfo(pid=1000 + r, runtime=runtime, heap_measure=heap_measure,
                              exit_code=1 if failed else 0),
            status=status if failed else "complete", samples=samples, cycles=timings,
            timeline=(TimelinePoint(0.0, _b(rss[0] + shift), 0),),
            kernel_peak_rss_bytes=_b(peak + shift), error="boom" if failed else None))
    config = RunConfig(store="snapshot", cycles=cycles[-1], sample_every=10, runtime=runtime,
                       repeat=repeats, label=name,
                       heap="tracemalloc" if heap_measure == "tracemalloc" else "allocator",
                       generate=GenerateSpec("realistic", 1, target_kb=7600))
    return Run(config=config, environment={}, store=StoreInfo("generated", 1, sha),
               started_at=started_at, finished_at=started_at, repeats=tuple(workers),
               folder=Path(name))


def with_old_samples_csv(folder: Path) -> None:
    """Rewrite a written folder's samples.csv as schema 1 and 2 had it: `peak_rss_mb` the
    highest reading, and no kernel or heap peak columns (meta.json is the caller's to age)."""
    path = folder / "samples.csv"
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns = ("repeat", "cycle", "rss_mb", "peak_rss_mb", "heap_mb", "external_mb",
               "store_kb", "elapsed_ms", "untrimmed_rss_mb")
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows({**row, "peak_rss_mb": row["sampled_peak_rss_mb"]} for row in rows)


def _b(mb: float) -> int:
    return round(mb * MB)
