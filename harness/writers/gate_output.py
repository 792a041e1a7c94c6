"""The gate's result as text lines, JSON, a Markdown job summary, and GitHub annotations."""

from __future__ import annotations

import json
from dataclasses import asdict

from session_store_harness.judging.gate import Check, GateResult
from session_store_harness.writers.table import markdown_table


def gate_text(result: GateResult) -> str:
    lines = [f"[gate] {c.name}: {_figure(c.value, c.unit)} (limit {_figure(c.limit, c.unit)}) "
             f"{c.outcome}" + (f" - {c.detail}" if c.detail else "") for c in result.checks]
    lines.append(f"[gate] outcome: {result.outcome} (exit {result.exit_code})")
    return "\n".join(lines)


def gate_json(result: GateResult) -> str:
    return json.dumps({"outcome": result.outcome, "exit_code": result.exit_code,
                       "checks": [asdict(c) for c in result.checks]}, indent=2)


def gate_markdown(result: GateResult) -> str:
    icon = {"pass": "✅", "fail": "❌", "inconclusive": "⚠️"}
    table = markdown_table(("check", "figure", "limit", "outcome", "detail"), [
        (c.name, _figure(c.value, c.unit), _figure(c.limit, c.unit),
         f"{icon[c.outcome]} {c.outcome}", c.detail) for c in result.checks],
        align_right_from=1)
    return f"### Memory gate: {icon[result.outcome]} {result.outcome}\n\n{table}\n"


def github_annotations(result: GateResult) -> str:
    """`::error::` for failed checks, `::warning::` for inconclusive ones."""
    kinds = {"fail": "error", "inconclusive": "warning"}
    return "\n".join(f"::{kinds[c.outcome]} title=memory gate::{_one_line(c)}"
                     for c in result.checks if c.outcome in kinds)


def _one_line(check: Check) -> str:
    return (f"{check.name}: {_figure(check.value, check.unit)} over limit "
            f"{_figure(check.limit, check.unit)}" + (f" ({check.detail})" if check.detail else ""))


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:+.1f}%" if unit == "%" else f"{value:.3f} {unit}" if unit == "MB/cycle" \
        else f"{value:.1f} {unit}"
