"""meta.json of a run: configuration, environment, store, worker, status, kernel peak."""

from __future__ import annotations

import json
from dataclasses import asdict

from harness.records import MB, Run, WorkerRun

SCHEMA_VERSION = 1


def meta_json(run: Run) -> str:
    meta = {
        "schema_version": SCHEMA_VERSION,
        "status": run.status,
        "complete": run.status == "complete",
        "error": run.error,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "argv": list(run.argv),
        "config": run.config.as_dict(),
        "store": asdict(run.store),
        "heap_measure": next((r.worker.heap_measure for r in run.repeats), None),
        "repeats": [_repeat(index, repeat) for index, repeat in enumerate(run.repeats, 1)],
        "environment": run.environment,
    }
    return json.dumps(meta, indent=2, default=str) + "\n"


def _repeat(index: int, repeat: WorkerRun) -> dict:
    peak = repeat.kernel_peak_rss_bytes
    return {"repeat": index, "status": repeat.status, "error": repeat.error,
            "worker": asdict(repeat.worker), "kernel_peak_rss_bytes": peak,
            "kernel_peak_rss_mb": None if peak is None else round(peak / MB, 3),
            "samples": len(repeat.samples), "cycles_completed": len(repeat.cycles)}
