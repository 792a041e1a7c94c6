"""conform.json: each rule's verdict and evidence, with what was checked and how."""

from __future__ import annotations

import json
from dataclasses import asdict

from session_store_harness.conformance.conform import SCHEMA_VERSION, ConformReport
from session_store_harness.model.redaction import redact_argv, redact_document, secrets_to_hide


def conform_json(report: ConformReport) -> str:
    config = report.config
    document = {
        "schema_version": SCHEMA_VERSION, "store": config.target.spec,
        "runtime": config.target.runtime, "driver": report.driver,
        "config": asdict(config), "argv": redact_argv(report.argv), "ok": report.ok,
        "failed": [r.rule for r in report.failed],
        "rules": [asdict(result) for result in report.results]}
    # By value too: a store path, or a store's error message, may hold a secret.
    return json.dumps(redact_document(document, secrets_to_hide()), indent=2) + "\n"
