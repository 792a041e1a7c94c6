"""comparison.json: the machine-readable comparison, and where its two runs live."""

from __future__ import annotations

import json
from dataclasses import asdict

from session_store_harness.judging.compare import Comparison


def comparison_json(comparison: Comparison) -> str:
    return json.dumps({
        "schema_version": 1,
        "before": str(comparison.before.folder.resolve()),
        "after": str(comparison.after.folder.resolve()),
        # the setup differences, by the key `harness gate --allow-different` takes
        "mismatches": [{**asdict(m), "description": m.describe()}
                       for m in comparison.mismatches],
        "warnings": list(comparison.warnings),
        "metrics": [{"metric": row.metric.name, "label": row.metric.label,
                     "unit": row.metric.unit, **asdict(row.difference)}
                    for row in comparison.metrics],
    }, indent=2) + "\n"
