"""stress.json: what `harness stress` found, with its configuration."""

from __future__ import annotations

import json
from dataclasses import asdict

from session_store_harness.measuring.stress import StressReport
from session_store_harness.model.redaction import redact_argv, redact_document, secrets_to_hide


def stress_json(report: StressReport) -> str:
    result, crash = report.concurrency, report.crashes
    config = {**asdict(report.config), "store_file": None if report.config.store_file is None
              else str(report.config.store_file), "store_spec": report.config.spec.as_dict()}
    document = {
        "schema_version": 2, "store": report.config.store, "config": config,
        "argv": redact_argv(report.argv),
        "concurrency": {**asdict(result), "attempted": result.attempted,
                        "completed_total": result.completed_total, "lost": result.lost},
        "crashes": asdict(crash) if crash else None, "ok": report.ok}
    # By value too: a store path, or a writer's failure message, may hold a secret.
    return json.dumps(redact_document(document, secrets_to_hide()), indent=2) + "\n"
