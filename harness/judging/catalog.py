"""The metrics a run is judged on: names, labels, units and floors. No heavy imports, so the
CLI can list them without loading the statistics."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    """A figure taken once per repeat; lower is better for all of them.

    `floor`: below it a baseline is too close to zero for a percentage to mean anything, so
    changes are shown in absolute terms and the gate scales them by the floor instead.
    """

    name: str
    label: str
    unit: str
    floor: float


METRICS = (
    Metric("rss_steady_mb", "steady RSS (median, 2nd half)", "MB", 1.0),
    Metric("rss_last_mb", "RSS at last cycle", "MB", 1.0),
    Metric("peak_rss_mb", "peak RSS", "MB", 1.0),
    Metric("growth_mb_per_cycle", "RSS growth per cycle", "MB/cycle", 0.1),
    Metric("cycle_ms_median", "median time per cycle", "ms", 0.5),
    Metric("cycle_ms_p95", "p95 time per cycle", "ms", 0.5),
    Metric("heap_last_mb", "heap at last cycle", "MB", 1.0),
    # only where the heap measure has a peak (`--heap tracemalloc`); None elsewhere
    Metric("heap_peak_mb", "traced heap peak within cycles", "MB", 1.0),
)
BY_NAME = {metric.name: metric for metric in METRICS}
TIME_METRICS = frozenset({"cycle_ms_median", "cycle_ms_p95"})
HEAP_METRICS = frozenset({"heap_last_mb", "heap_peak_mb"})
# steady RSS, not RSS at the last cycle: the last reading is a random point on the allocator's
# sawtooth (77-112 MB for one store whose heap stayed at 29.5 MB), which gates at random
DEFAULT_REGRESSION_METRICS = ("rss_steady_mb", "peak_rss_mb", "cycle_ms_median")
