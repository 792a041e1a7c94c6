"""meta.json of a run: configuration, environment, store, worker, status, kernel peak."""

from __future__ import annotations

import json
from dataclasses import asdict

from harness.records import MB, Run

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
        "worker": asdict(run.worker),
        "kernel_peak_rss_bytes": run.kernel_peak_rss_bytes,
        "kernel_peak_rss_mb": (round(run.kernel_peak_rss_bytes / MB, 3)
                               if run.kernel_peak_rss_bytes is not None else None),
        "samples": len(run.samples),
        "cycles_completed": len(run.cycles),
        "environment": run.environment,
    }
    return json.dumps(meta, indent=2, default=str) + "\n"
