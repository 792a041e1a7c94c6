"""sweep.csv: one row per cell of a merged sweep, with each metric's median across repeats."""

from __future__ import annotations

import csv
import io
from typing import Any

from session_store_harness.judging.metrics import METRICS, repeat_metrics
from session_store_harness.model.result_folder import RunData


def sweep_csv(matrix: list[dict[str, Any]], runs: dict[str, RunData]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["cell", "size_kb", "store", "reuse", "status", "repeats",
                     *(f"{m.name}" for m in METRICS)])
    for cell in matrix:
        run = runs.get(cell["name"])
        if run is None:
            continue
        medians = repeat_metrics(run).median()
        writer.writerow([cell["name"], cell["size_kb"], cell["store"], int(cell["reuse"]),
                         run.meta.get("status"), run.repeats,
                         *(round(float(medians[m.name]), 4) for m in METRICS)])
    return out.getvalue()
