"""Runs with known figures, built in memory, for the pure judges and writers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from session_store_harness.model.result_folder import RunData


def fake_run(name: str, rss: list[float], cycle_ms: float, peak: float,
             heap_measure: str = "allocator", sha: str = "abc", status: str = "complete",
             repeats: int = 1, jitter: float = 0.0) -> RunData:
    """A run whose figures are known: repeat r adds r * jitter to every RSS and time."""
    cycles = list(range(0, 10 * len(rss), 10))
    samples, per_cycle = [], []
    for r in range(1, repeats + 1):
        shift = (r - 1) * jitter
        samples.append(pd.DataFrame({
            "repeat": r, "cycle": cycles, "rss_mb": [v + shift for v in rss],
            "peak_rss_mb": rss, "heap_mb": 10.0, "external_mb": 1.0, "store_kb": 7600.0,
            "elapsed_ms": [c * cycle_ms for c in cycles]}))
        per_cycle.append(pd.DataFrame({
            "repeat": r, "cycle": range(1, cycles[-1] + 1), "load_ms": cycle_ms / 2,
            "update_ms": cycle_ms / 2, "cycle_ms": cycle_ms + shift, "wrote": 1,
            "reused_base": 0}))
    meta = {"status": status, "complete": status == "complete", "error": None,
            "config": {"label": name, "store": name}, "heap_measure": heap_measure,
            "repeats": [{"repeat": r, "kernel_peak_rss_mb": peak + (r - 1) * jitter}
                        for r in range(1, repeats + 1)],
            "store": {"sha256": sha, "size_bytes": 1}, "environment": {}}
    return RunData(Path(name), meta, pd.concat(samples), pd.concat(per_cycle),
                   pd.DataFrame({"repeat": [1], "time_ms": [0.0], "rss_mb": [rss[0]],
                                 "cycle": [0]}))
