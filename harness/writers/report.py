"""report.md of a comparison: headline, samples side by side, deltas, environment."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from harness.compare import Comparison, Delta
from harness.results import RunData
from harness.writers.table import format_cell, markdown_table

SIDE_BY_SIDE = ("rss_mb", "heap_mb", "external_mb", "store_kb", "elapsed_ms")


def comparison_report(comparison: Comparison, plots: Iterable[str]) -> str:
    before, after = comparison.before, comparison.after
    parts = [f"# {before.name} → {after.name}", "", headline(comparison), ""]
    parts += [f"> ⚠️ {warning}" for warning in comparison.warnings]
    parts += ["", "## Deltas", "", deltas_table(comparison.deltas), "",
              "## Samples side by side", "", samples_side_by_side(before, after), "",
              "## Plots", ""]
    parts += [f"![{name}]({name})" for name in plots]
    parts += ["", "## Runs", "", runs_table(before, after), ""]
    return "\n".join(parts)


def headline(comparison: Comparison) -> str:
    """One sentence a reviewer can quote: the last-cycle RSS change, and time if compared."""
    by_metric = {d.metric: d for d in comparison.deltas}
    rss = by_metric["RSS at last cycle"]
    sentence = f"RSS at the last cycle went from {_amount(rss.before, rss.unit)} to " \
               f"{_amount(rss.after, rss.unit)} ({_change(rss)})"
    time = by_metric.get("mean time per cycle")
    if time is not None and time.change is not None:
        sentence += f"; mean time per cycle from {_amount(time.before, 'ms')} to " \
                    f"{_amount(time.after, 'ms')} ({_change(time)})"
    return sentence + "."


def deltas_table(deltas: Iterable[Delta]) -> str:
    return markdown_table(("metric", "before", "after", "change", "relative"), [
        (d.metric, _amount(d.before, d.unit), _amount(d.after, d.unit),
         _signed(d.change, d.unit), _percent(d.relative)) for d in deltas])


def samples_side_by_side(before: RunData, after: RunData) -> str:
    merged = pd.merge(before.samples, after.samples, on="cycle", how="outer",
                      suffixes=(" before", " after")).sort_values("cycle")
    columns = [f"{name} {role}" for name in SIDE_BY_SIDE for role in ("before", "after")]
    rows = [(int(row["cycle"]), *(None if pd.isna(row[c]) else float(row[c]) for c in columns))
            for _, row in merged.iterrows()]
    return markdown_table(("cycle", *columns), rows)


def runs_table(before: RunData, after: RunData) -> str:
    def facts(run: RunData) -> list[str]:
        meta, env = run.meta, run.meta.get("environment", {})
        config, store = meta.get("config", {}), meta.get("store", {})
        return [str(run.folder), f"{config.get('store')}"
                + (" + reuse" if config.get("reuse_loaded_store") else ""),
                meta.get("status", "?"), f"{len(run.cycles)}",
                f"{store.get('size_bytes')} bytes, sha256 {str(store.get('sha256'))[:12]}",
                str(meta.get("worker", {}).get("heap_measure")),
                f"Python {env.get('python', {}).get('version')}",
                str(env.get("platform", {}).get("description")), str(env.get("cpu_count")),
                str(env.get("git_commit"))]

    names = ("folder", "store", "status", "cycles", "store file", "heap measure", "runtime",
             "platform", "CPUs", "harness commit")
    return markdown_table(("", "before", "after"),
                          list(zip(names, facts(before), facts(after), strict=True)),
                          align_right_from=3)


def _amount(value: float | None, unit: str) -> str:
    return "-" if value is None else f"{format_cell(float(value))} {unit}"


def _signed(value: float | None, unit: str) -> str:
    return "-" if value is None else f"{value:+.1f} {unit}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.1f}%"


def _change(delta: Delta) -> str:
    return f"{_signed(delta.change, delta.unit)}, {_percent(delta.relative)}"
