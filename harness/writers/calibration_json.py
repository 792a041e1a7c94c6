"""calibration.json: the gate's false-fail and detection rates, with their settings."""

from __future__ import annotations

import json

from session_store_harness.judging.calibrate import Rate
from session_store_harness.measuring.calibration import CalibrationResult


def calibration_json(result: CalibrationResult) -> str:
    config = result.config
    return json.dumps({
        "schema_version": 1, "trials": result.trials_done, "repeats": config.repeat,
        "cycles": config.cycles, "target_kb": config.target_kb, "profile": config.profile,
        "threshold": config.limits.max_regression, "regression": config.regression,
        "pad_kb": result.pad_kb, "metrics": list(config.limits.metrics),
        "false_fail": _rate(result.false_fail_rate), "detection": _rate(result.detection_rate),
        "inconclusive": result.inconclusive}, indent=2) + "\n"


def _rate(rate: Rate) -> dict:
    return {"hits": rate.hits, "rate": rate.value, "ci95": list(rate.ci95)}
