"""The gate's result as text lines, JSON, a Markdown job summary, and GitHub annotations."""

from __future__ import annotations

import json
from typing import Any

from session_store_harness.judging.gate import Check, GateResult
from session_store_harness.writers.github import annotation
from session_store_harness.writers.table import markdown_table

# Decimals kept in JSON by unit: 0.001 MB is the CSVs' resolution (1 KiB); a growth slope
# of a few KiB per cycle needs one more; percentages to a hundredth are plenty.
DIGITS = {"MB": 3, "ms": 3, "MB/cycle": 4, "%": 2}
P_DIGITS = 4  # p-values and fractions


def gate_text(result: GateResult) -> str:
    """The stores judged, one line per check, then the notes, then the outcome: the last line
    is the verdict."""
    lines = [f"[gate] {role}: {store}" for role, store in result.stores]
    lines += [f"[gate] {c.name}: {_figure(c.value, c.unit)} (limit {_figure(c.limit, c.unit)}) "
             f"{c.outcome}" + (f" - {c.detail}" if c.detail else "") for c in result.checks]
    lines += [f"[gate] note: {note}" for note in result.notes]
    lines.append(f"[gate] outcome: {result.outcome} (exit {result.exit_code})")
    return "\n".join(lines) + "\n"


def gate_json(result: GateResult) -> str:
    return json.dumps({"outcome": result.outcome, "exit_code": result.exit_code,
                       "stores": dict(result.stores),
                       "checks": [_check_json(c) for c in result.checks],
                       "notes": list(result.notes)}, indent=2) + "\n"


def _check_json(check: Check) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": check.id, "name": check.name, "outcome": check.outcome,
        "value": _round(check.value, check.unit), "limit": _round(check.limit, check.unit),
        "unit": check.unit, "detail": check.detail}
    if check.comparison is not None:
        data.update(_comparison_json(check))
    return data


def _comparison_json(check: Check) -> dict[str, Any]:
    """A regression check's figures, in the metric's own unit (the check's value is a %)."""
    metric, diff = check.comparison.metric, check.comparison.difference
    return {"metric": metric.name, "metric_unit": metric.unit,
            "before": _round(diff.before_median, metric.unit),
            "after": _round(diff.after_median, metric.unit),
            "change": _round(diff.change, metric.unit),
            "relative": _round(diff.relative, digits=P_DIGITS),
            "interval": None if diff.interval is None
            else [_round(v, metric.unit) for v in diff.interval],
            "interval_level": round(1 - diff.alpha, 6), "alpha": round(diff.alpha, 6),
            "p_value": _round(diff.p_value, digits=P_DIGITS), "verdict": diff.verdict,
            "noisy": diff.noisy,
            # the smallest change this comparison would detect (80% power, alpha 0.05)
            "mdc": _round(diff.mdc, metric.unit)}


def _round(value: float | None, unit: str = "", digits: int | None = None) -> float | None:
    if value is None:
        return None
    # + 0.0 turns a rounded -0.0 into 0.0: scripts comparing to 0 should not see a sign
    return round(float(value), DIGITS.get(unit, 3) if digits is None else digits) + 0.0


def gate_markdown(result: GateResult, level: int = 3) -> str:
    icon = {"pass": "✅", "fail": "❌", "inconclusive": "⚠️"}
    table = markdown_table(("check", "figure", "limit", "outcome", "detail"), [
        (c.name, _figure(c.value, c.unit), _figure(c.limit, c.unit),
         f"{icon[c.outcome]} {c.outcome}", c.detail) for c in result.checks],
        align_right_from=1)
    notes = "".join(f"\n> {note}\n" for note in result.notes)
    return f"{'#' * level} Memory gate: {icon[result.outcome]} {result.outcome}\n\n{table}\n{notes}"


def gate_error_json(message: str, exit_code: int) -> str:
    """A refusal (runs not comparable, bad input) as JSON, so a script reading stdout always
    gets one document with an `outcome`, even when there is no verdict."""
    return json.dumps({"outcome": "error", "exit_code": exit_code, "error": message},
                      indent=2) + "\n"


def github_annotations(result: GateResult) -> str:
    """`::error::` for failed checks, `::warning::` for inconclusive ones."""
    kinds = {"fail": "error", "inconclusive": "warning"}
    return "\n".join(annotation(kinds[c.outcome], "memory gate", _one_line(c))
                     for c in result.checks if c.outcome in kinds)


def _one_line(check: Check) -> str:
    """Worded by outcome: an inconclusive check is not over its limit, it could not be judged."""
    figures = f"{_figure(check.value, check.unit)} (limit {_figure(check.limit, check.unit)})"
    if check.outcome == "inconclusive":
        return f"{check.name}: {figures} could not be judged" + (
            f": {check.detail}" if check.detail else "")
    return (f"{check.name}: {_figure(check.value, check.unit)} over the limit "
            f"{_figure(check.limit, check.unit)}" + (f" ({check.detail})" if check.detail else ""))


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:+.1f}%" if unit == "%" else f"{value:.3f} {unit}" if unit == "MB/cycle" \
        else f"{value:.1f} {unit}"
