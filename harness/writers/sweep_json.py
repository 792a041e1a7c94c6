"""sweep.json: a sweep folder's matrix, the cells it holds, and where they came from."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from session_store_harness.model.redaction import redact_argv

SWEEP_FILE = "sweep.json"


def sweep_json(shard: str, matrix: Sequence[dict[str, Any]], cells: Sequence[dict[str, Any]],
               argv: Sequence[str] = (), merged_from: Sequence[str] | None = None,
               run_order: dict[str, Any] | None = None) -> str:
    data: dict[str, Any] = {"schema_version": 1, "shard": shard, "argv": redact_argv(argv),
                            "matrix": list(matrix), "cells": list(cells)}
    if run_order is not None:  # how the cells were ordered, and the names as they ran
        data["run_order"] = dict(run_order)
    if merged_from is not None:
        data["merged_from"] = list(merged_from)
    return json.dumps(data, indent=2) + "\n"
