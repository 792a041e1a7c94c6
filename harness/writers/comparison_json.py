"""comparison.json: the machine-readable comparison, and where its two runs live."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from session_store_harness.judging.compare import Comparison
from session_store_harness.model.comparison_folder import (
    SCHEMA_VERSION,
    identity_fields,
    source_fields,
)


def comparison_json(comparison: Comparison, folder: Path | None = None) -> str:
    """The comparison as JSON for the compare folder `folder`, which the run folders are
    recorded relative to (see `model.comparison_folder`); without it they stay absolute."""
    return json.dumps({
        "schema_version": SCHEMA_VERSION,
        **source_fields(comparison.before.folder, comparison.after.folder, folder),
        # which runs those folders held, so a folder holding another run later is refused
        **identity_fields(comparison.before, comparison.after),
        # the setup differences, by the key `harness gate --allow-different` takes
        "mismatches": [{**asdict(m), "description": m.describe()}
                       for m in comparison.mismatches],
        "warnings": list(comparison.warnings),
        "metrics": [{"metric": row.metric.name, "label": row.metric.label,
                     "unit": row.metric.unit, **asdict(row.difference)}
                    for row in comparison.metrics],
    }, indent=2) + "\n"
