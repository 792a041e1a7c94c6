"""CSV text of a run: per-sample rows, per-cycle timings, the RSS timeline. Units in names."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from harness.records import KB, MB, Run

SAMPLE_COLUMNS = ("cycle", "rss_mb", "peak_rss_mb", "heap_mb", "external_mb", "store_kb",
                  "elapsed_ms")
CYCLE_COLUMNS = ("cycle", "load_ms", "update_ms", "cycle_ms", "wrote", "reused_base")
TIMELINE_COLUMNS = ("time_ms", "rss_mb", "cycle")


def samples_csv(run: Run) -> str:
    return _csv(SAMPLE_COLUMNS, (
        (s.cycle, _mb(s.rss_bytes), _mb(s.peak_rss_bytes), _mb(s.heap_bytes),
         _mb(s.external_bytes), round(s.store_bytes / KB, 3), round(s.elapsed_ms, 3))
        for s in run.samples))


def cycles_csv(run: Run) -> str:
    return _csv(CYCLE_COLUMNS, (
        (c.cycle, round(c.load_ms, 3), round(c.update_ms, 3), round(c.load_ms + c.update_ms, 3),
         int(c.wrote), int(c.reused_base)) for c in run.cycles))


def timeline_csv(run: Run) -> str:
    return _csv(TIMELINE_COLUMNS, ((round(p.time_ms, 1), _mb(p.rss_bytes), p.cycle)
                                   for p in run.timeline))


def _mb(value: int) -> float:
    return round(value / MB, 3)


def _csv(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()
