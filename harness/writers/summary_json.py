"""summary.json of a run."""

from __future__ import annotations

import json
from typing import Any


def summary_json(summary: dict[str, Any]) -> str:
    return json.dumps(summary, indent=2) + "\n"
