"""What a finished run prints: the per-sample table in the shape of CONTEXT.md's figures."""

from __future__ import annotations

from harness.records import KB, MB, Run
from harness.writers.table import text_table

HEADERS = ("cycle", "rss_mb", "peak_rss_mb", "heap_mb", "external_mb", "store_kb", "elapsed_ms")


def samples_table(run: Run) -> str:
    return text_table(HEADERS, [
        (s.cycle, s.rss_bytes / MB, s.peak_rss_bytes / MB, s.heap_bytes / MB,
         s.external_bytes / MB, s.store_bytes / KB, s.elapsed_ms) for s in run.samples])


def run_summary(run: Run, folder: str) -> str:
    peak = (f"{run.kernel_peak_rss_bytes / MB:.1f} MB" if run.kernel_peak_rss_bytes is not None
            else "unknown")
    return (f"{run.config.store}{' (reuse)' if run.config.reuse_loaded_store else ''}: "
            f"{len(run.cycles)}/{run.config.cycles} cycles, {run.status}, kernel peak RSS "
            f"{peak}, heap measure {run.worker.heap_measure}\nresults: {folder}")
