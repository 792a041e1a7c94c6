"""summary.json of a run: per metric, the per-repeat values, their median and a 95% interval."""

from __future__ import annotations

import json

from session_store_harness.judging.metrics import RunSummary
from session_store_harness.model.result_folder import SCHEMA_VERSION


def summary_json(summary: RunSummary) -> str:
    return json.dumps({
        "schema_version": SCHEMA_VERSION, "repeats": summary.repeats,
        "complete": summary.complete, "heap_measure": summary.heap_measure,
        "trimmed": summary.trimmed,
        "metrics": {m.metric.name: {"label": m.metric.label, "unit": m.metric.unit,
                                    "values": list(m.values), "median": m.median,
                                    "ci95_of_mean": None if m.ci95_of_mean is None
                                    else list(m.ci95_of_mean)}
                    for m in summary.metrics}}, indent=2) + "\n"
