"""CSV text of a run: per-sample rows, per-cycle timings, the RSS timeline. Units in names."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

from harness.records import KB, MB, Run, WorkerRun

SAMPLE_COLUMNS = ("repeat", "cycle", "rss_mb", "peak_rss_mb", "heap_mb", "external_mb",
                  "store_kb", "elapsed_ms", "untrimmed_rss_mb")
CYCLE_COLUMNS = ("repeat", "cycle", "load_ms", "update_ms", "cycle_ms", "wrote", "reused_base")
TIMELINE_COLUMNS = ("repeat", "time_ms", "rss_mb", "cycle")


def samples_csv(run: Run) -> str:
    return _csv(SAMPLE_COLUMNS, (
        (repeat, s.cycle, _mb(s.rss_bytes), _mb(s.peak_rss_bytes), _mb(s.heap_bytes),
         _mb(s.external_bytes), round(s.store_bytes / KB, 3), round(s.elapsed_ms, 3),
         _mb(s.untrimmed_rss_bytes))
        for repeat, worker in _numbered(run) for s in worker.samples))


def cycles_csv(run: Run) -> str:
    return _csv(CYCLE_COLUMNS, (
        (repeat, c.cycle, round(c.load_ms, 3), round(c.update_ms, 3),
         round(c.load_ms + c.update_ms, 3), int(c.wrote), int(c.reused_base))
        for repeat, worker in _numbered(run) for c in worker.cycles))


def timeline_csv(run: Run) -> str:
    return _csv(TIMELINE_COLUMNS, ((repeat, round(p.time_ms, 1), _mb(p.rss_bytes), p.cycle)
                                   for repeat, worker in _numbered(run)
                                   for p in worker.timeline))


def _numbered(run: Run) -> Iterator[tuple[int, WorkerRun]]:
    return enumerate(run.repeats, start=1)


def _mb(value: int | None) -> float | None:
    return None if value is None else round(value / MB, 3)


def _csv(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()
