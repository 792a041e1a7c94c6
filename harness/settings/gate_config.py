"""Gate limits from `[tool.harness.gate]` in a pyproject.toml, overridden by the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from session_store_harness.errors import HarnessError
from session_store_harness.judging.gate import DEFAULT_REGRESSION_METRICS, GateLimits


def parse_fraction(value: str | float) -> float:
    """`10%` -> 0.10; a bare number is taken as a fraction (0.1), so 10 is refused."""
    text = str(value).strip()
    try:
        fraction = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise HarnessError(f"max-regression must look like 10% or 0.1, got {value!r}") from None
    if not text.endswith("%") and fraction >= 1:
        raise HarnessError(f"max-regression {value!r} is ambiguous: write {text}% or a fraction")
    return fraction


def load_gate_table(path: Path | None, cwd: Path | None = None) -> dict[str, Any]:
    """The `[tool.harness.gate]` table of the project's configuration (`--config`, else the
    nearest one from `cwd`), validated with the rest of the file; {} when there is none."""
    from session_store_harness.settings.project_config import load_project

    gate = load_project(path, cwd=cwd).table.gate
    return {} if gate is None else gate.model_dump(exclude_none=True)


def gate_limits(table: dict[str, Any], **overrides: Any) -> GateLimits:
    """Limits from the config table, with the command line's non-None values on top.

    A list the command line gives (`metrics`, `allow_different`) replaces the file's, as every
    other option does: what the command says is what the gate uses.
    """
    merged = {**table, **{k: v for k, v in overrides.items() if v is not None}}
    regression = merged.get("max_regression")
    return GateLimits(
        max_peak_rss_mb=_number(merged.get("max_peak_rss_mb"), "max_peak_rss_mb"),
        max_growth_mb_per_cycle=_number(merged.get("max_growth_mb_per_cycle"),
                                        "max_growth_mb_per_cycle"),
        max_regression=None if regression is None else parse_fraction(regression),
        metrics=names(merged.get("metrics", DEFAULT_REGRESSION_METRICS), "metrics"),
        allow_different=names(merged.get("allow_different", ()), "allow_different"))


def names(value: Any, key: str) -> tuple[str, ...]:
    """A list of names from TOML or the command line: a list, or comma-separated text (items
    of a list may themselves be comma-separated, as repeated options often are)."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise HarnessError(f"{key} must be a list of names or comma-separated text, "
                           f"got {value!r}")
    return tuple(name.strip() for item in items for name in item.split(",") if name.strip())


def _number(value: Any, name: str) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise HarnessError(f"{name} must be a number, got {value!r}") from None
