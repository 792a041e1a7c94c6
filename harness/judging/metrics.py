"""Per-repeat metrics of a run and their summary, computed from the raw CSV data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from session_store_harness.judging.stats import ci95_of_mean, slope_per_cycle
from session_store_harness.model.result_folder import RunData


@dataclass(frozen=True)
class Metric:
    """A figure taken once per repeat; lower is better for all of them."""

    name: str
    label: str
    unit: str


METRICS = (
    Metric("rss_last_mb", "RSS at last cycle", "MB"),
    Metric("kernel_peak_rss_mb", "peak RSS (kernel)", "MB"),
    Metric("growth_mb_per_cycle", "RSS growth per cycle", "MB/cycle"),
    Metric("cycle_ms_median", "median time per cycle", "ms"),
    Metric("cycle_ms_p95", "p95 time per cycle", "ms"),
    Metric("heap_last_mb", "heap at last cycle", "MB"),
)
BY_NAME = {metric.name: metric for metric in METRICS}
TIME_METRICS = frozenset({"cycle_ms_median", "cycle_ms_p95"})


def repeat_metrics(run: RunData) -> pd.DataFrame:
    """One row per repeat, one column per metric (NaN where a repeat has no such figure)."""
    peaks = {r["repeat"]: r.get("kernel_peak_rss_mb") for r in run.meta.get("repeats", [])}
    rows = []
    for repeat, samples in run.samples.groupby("repeat"):
        cycles = run.cycles[run.cycles["repeat"] == repeat]["cycle_ms"]
        measured = samples[samples["cycle"] > 0]  # cycle 0 precedes the first load
        rows.append({
            "repeat": int(repeat),
            "rss_last_mb": float(samples["rss_mb"].iloc[-1]),
            "kernel_peak_rss_mb": _number(peaks.get(int(repeat))),
            "growth_mb_per_cycle": _number(slope_per_cycle(measured["cycle"].tolist(),
                                                           measured["rss_mb"].tolist())),
            "cycle_ms_median": float(cycles.median()) if len(cycles) else np.nan,
            "cycle_ms_p95": float(np.percentile(cycles, 95)) if len(cycles) else np.nan,
            "heap_last_mb": float(samples["heap_mb"].iloc[-1]),
        })
    return pd.DataFrame(rows).set_index("repeat")


def values_of(table: pd.DataFrame, metric: str) -> list[float]:
    """A metric's per-repeat values from `repeat_metrics`, repeats without the figure left out."""
    return [float(v) for v in table[metric].dropna()]


def summarize(run: RunData) -> dict[str, Any]:
    """summary.json: per metric, the per-repeat values, their median and a 95% interval."""
    table = repeat_metrics(run)
    metrics = {}
    for metric in METRICS:
        values = [None if pd.isna(v) else round(float(v), 4) for v in table[metric.name]]
        present = [v for v in values if v is not None]
        metrics[metric.name] = {
            "label": metric.label, "unit": metric.unit, "values": values,
            "median": round(float(np.median(present)), 4) if present else None,
            "ci95_of_mean": ci95_of_mean(present),
        }
    return {"schema_version": 1, "repeats": len(table), "complete": run.complete,
            "heap_measure": run.meta.get("heap_measure"), "trimmed": bool(
                run.meta.get("config", {}).get("trim")), "metrics": metrics}


def _number(value: float | None) -> float:
    return np.nan if value is None else float(value)
