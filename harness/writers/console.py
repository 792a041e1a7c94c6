"""What a finished run prints: the per-sample table of docs/store-behaviour.md, "The figures"."""

from __future__ import annotations

from session_store_harness.model.config import RunConfig
from session_store_harness.model.run import KB, MB, Run, WorkerRun
from session_store_harness.writers.measures import peak_phrase
from session_store_harness.writers.table import text_table

HEADERS = ("cycle", "rss_mb", "peak_rss_mb", "heap_mb", "external_mb", "store_kb", "elapsed_ms")
TRACED_HEADERS = (*HEADERS[:4], "heap_peak_mb", *HEADERS[4:])  # a run with a heap peak


def samples_table(repeat: WorkerRun) -> str:
    rows = [(s.cycle, s.rss_bytes / MB, s.peak_rss_bytes / MB, s.heap_bytes / MB,
             s.external_bytes / MB, s.store_bytes / KB, s.elapsed_ms) for s in repeat.samples]
    if not any(s.heap_peak_bytes is not None for s in repeat.samples):
        return text_table(HEADERS, rows)
    return text_table(TRACED_HEADERS, [
        (*row[:4], None if s.heap_peak_bytes is None else s.heap_peak_bytes / MB, *row[4:])
        for row, s in zip(rows, repeat.samples, strict=True)])


def repeat_line(index: int, repeat: WorkerRun, config: RunConfig) -> str:
    # the peak reports and gates use, how it was taken, and why not per interval if it was not
    peak = repeat.peak_rss_bytes
    how = peak_phrase(repeat.peak_method) + (
        f": {repeat.peak_reset_error}" if repeat.peak_reset_error else "")
    return (f"repeat {index}/{config.repeat}: {len(repeat.cycles)}/{config.cycles} cycles, "
            f"{repeat.status}, peak RSS {'unknown' if peak is None else f'{peak / MB:.1f} MB'}"
            f" ({how})")


def _workload_phrase(run: Run) -> str:
    """` (entry workload: get native, update_entry fallback)`; nothing for the full one."""
    if run.config.workload == "full":
        return ""
    api = run.entry_api or {}
    served = ", ".join(f"{name} {path}" for name, path in api.items())
    return f" ({run.config.workload} workload{': ' + served if served else ''})"


def run_report(run: Run, folder: str) -> str:
    """Each repeat's table (the first in full when there are several), then one line each."""
    parts = []
    for index, repeat in enumerate(run.repeats, start=1):
        if index == 1 or len(run.repeats) == 1:
            parts.append(samples_table(repeat))
        parts.append(repeat_line(index, repeat, run.config))
    store = run.config.store + (" (reuse)" if run.config.reuse_loaded_store else "") + \
        _workload_phrase(run)
    parts.append(f"{store}: {run.status}, {run.runtime}, heap measure {run.heap_measure}\n"
                 f"results: {folder}")
    return "\n".join(parts)
