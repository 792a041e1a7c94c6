"""calibration.json: the gate's false-fail and detection rates, with their settings."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from session_store_harness.judging.calibrate import Rate
from session_store_harness.measuring.calibration import CalibrationResult
from session_store_harness.model.redaction import redact_argv


def calibration_json(result: CalibrationResult, argv: Sequence[str] | None = None) -> str:
    """The calibration's figures; `argv`, when given, recorded with its secrets blanked."""
    config = result.config
    data: dict[str, Any] = {
        "schema_version": 1, "trials": result.trials_done, "repeats": config.repeat,
        "cycles": config.cycles, "target_kb": config.target_kb, "profile": config.profile,
        "threshold": config.limits.max_regression, "regression": config.regression,
        "pad_kb": result.pad_kb, "metrics": list(config.limits.metrics),
        "false_fail": _rate(result.false_fail_rate), "detection": _rate(result.detection_rate),
        "inconclusive": result.inconclusive}
    if argv is not None:  # the command line is optional: older callers pass none
        data["argv"] = redact_argv(argv)
    return json.dumps(data, indent=2) + "\n"


def _rate(rate: Rate) -> dict:
    return {"hits": rate.hits, "rate": rate.value, "ci95": list(rate.ci95)}
