"""sweep.csv: one row per cell of a merged sweep, with each metric's median across repeats."""

from __future__ import annotations

import csv
import io
from typing import Any

from session_store_harness.judging.metrics import METRICS, summarize
from session_store_harness.model.run import Run


def sweep_csv(matrix: list[dict[str, Any]], runs: dict[str, Run]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["cell", "size_kb", "store", "reuse", "workload", "status", "repeats",
                     *(m.name for m in METRICS)])
    for cell in matrix:
        run = runs.get(cell["name"])
        if run is None:
            continue
        summary = summarize(run)
        writer.writerow([cell["name"], cell["size_kb"], cell["store"], int(cell["reuse"]),
                         cell.get("workload", run.config.workload), run.status, summary.repeats,
                         *(summary.get(m.name).median for m in METRICS)])
    return out.getvalue()
