"""report.md of a comparison: headline, deltas with verdicts, samples, plots, environment.

Fits one screen at the top and a GitHub comment in all: details are in collapsible sections,
and sections are dropped, largest first, until the report is under `MAX_CHARS`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from session_store_harness.judging.compare import Comparison, MetricComparison
from session_store_harness.judging.metrics import repeat_metrics
from session_store_harness.model.result_folder import RunData
from session_store_harness.writers.table import format_cell, markdown_table

MAX_CHARS = 60_000  # GitHub's comment limit is 65,536
SEED_COLUMNS = ("rss_mb", "heap_mb", "external_mb", "store_kb", "elapsed_ms")
TRIMMED_COLUMN = "untrimmed_rss_mb"  # shown beside rss_mb when a run used --trim
HEADLINE_ROWS = 21  # a longer samples table is thinned on screen and kept whole in details
LEFT_OUT = "(left out: too long for one comment; see the run folders)"
CUT_NOTE = "\n\n(report cut to fit a GitHub comment; see the run folders)"


def comparison_report(comparison: Comparison, plots: Iterable[str],
                      max_chars: int = MAX_CHARS) -> str:
    before, after = comparison.before, comparison.after
    head = [f"# Session store memory: {before.name} → {after.name}", "", headline(comparison),
            ""]
    head += [f"> ⚠️ {warning}" for warning in comparison.warnings]
    samples = side_by_side_frame(before, after)
    head += ["", "## Deltas", "", deltas_table(comparison.metrics), "",
             "## Samples (median across repeats)", "", frame_table(_thin(samples)), ""]
    head += ["## Plots", "", *(f"![{Path(name).name}]({name})" for name in plots), ""]
    details = [("Environment", runs_table(("before", before), ("after", after))),
               ("Per-repeat figures", per_repeat_tables(before, after))]
    if len(samples) > HEADLINE_ROWS:
        details.append(("All samples", frame_table(samples)))
    return _fit(head, details, max_chars)


def run_report_md(run: RunData, max_chars: int = MAX_CHARS) -> str:
    """A single run's report: headline, summary with intervals, samples, environment."""
    from session_store_harness.judging.metrics import summarize

    summary = summarize(run)["metrics"]
    rss, peak = summary["rss_last_mb"], summary["kernel_peak_rss_mb"]
    head = [f"# Session store memory: {run.name}", "",
            f"RSS at the last cycle {_amount(rss['median'], 'MB')}, kernel peak "
            f"{_amount(peak['median'], 'MB')} (median of {run.repeats} repeat(s)).", ""]
    if not run.complete:
        head.append(f"> ⚠️ incomplete run ({run.meta.get('status')}: {run.meta.get('error')})")
    head += ["## Summary", "", markdown_table(("metric", "median", "95% CI of mean", "values"), [
        (m["label"], _amount(m["median"], m["unit"]),
         _interval(m["ci95_of_mean"], m["unit"], signed=False),
         ", ".join(format_cell(v, 3) for v in m["values"])) for m in summary.values()]), ""]
    samples = run.median_by_cycle()[["cycle", *_columns(run)]]
    head += ["## Samples (median across repeats)", "", frame_table(_thin(samples)), ""]
    details = [("Environment", runs_table(("run", run)))]
    if len(samples) > HEADLINE_ROWS:
        details.append(("All samples", frame_table(samples)))
    return _fit(head, details, max_chars)


def headline(comparison: Comparison) -> str:
    """One sentence a reviewer can quote: the last-cycle RSS change, and time if compared."""
    rss = comparison.get("rss_last_mb")
    if rss is None:
        return "No figures to compare."
    sentence = f"RSS at the last cycle went from {_amount(rss.difference.before_median, 'MB')} " \
               f"to {_amount(rss.difference.after_median, 'MB')} ({_change(rss)})"
    time = comparison.get("cycle_ms_median")
    if time is not None:
        sentence += f"; median time per cycle from {_amount(time.difference.before_median, 'ms')}" \
                    f" to {_amount(time.difference.after_median, 'ms')} ({_change(time)})"
    return sentence + "."


def deltas_table(rows: Iterable[MetricComparison]) -> str:
    return markdown_table(
        ("metric", "before", "after", "change", "relative", "95% CI of change", "p", "verdict"),
        [(row.metric.label, _amount(row.difference.before_median, row.metric.unit),
          _amount(row.difference.after_median, row.metric.unit),
          _signed(row.difference.change, row.metric.unit), _percent(row.difference.relative),
          _interval(row.difference.ci95, row.metric.unit), _p(row.difference.p_value),
          row.difference.verdict + (" (noisy)" if row.difference.noisy else ""))
         for row in rows])


def side_by_side_frame(before: RunData, after: RunData) -> pd.DataFrame:
    """The seed-style columns of both runs, one row per cycle, medians across repeats."""
    merged = pd.merge(before.median_by_cycle(), after.median_by_cycle(), on="cycle",
                      how="outer", suffixes=(" before", " after")).sort_values("cycle")
    names = dict.fromkeys([*_columns(before), *_columns(after)])
    columns = [f"{name} {role}" for name in names for role in ("before", "after")
               if f"{name} {role}" in merged.columns]
    return merged[["cycle", *columns]]


def _columns(run: RunData) -> list[str]:
    """The seed-style columns, with the untrimmed RSS after rss_mb for a --trim run."""
    if TRIMMED_COLUMN in run.samples and run.samples[TRIMMED_COLUMN].notna().any():
        return ["rss_mb", TRIMMED_COLUMN, *SEED_COLUMNS[1:]]
    return list(SEED_COLUMNS)


def frame_table(frame: pd.DataFrame) -> str:
    rows = [(int(row.iloc[0]), *(None if pd.isna(v) else float(v) for v in row.iloc[1:]))
            for _, row in frame.iterrows()]
    return markdown_table(list(frame.columns), rows)


def _thin(frame: pd.DataFrame) -> pd.DataFrame:
    """At most HEADLINE_ROWS rows, evenly spaced, first and last always kept."""
    if len(frame) <= HEADLINE_ROWS:
        return frame
    step = (len(frame) - 1) / (HEADLINE_ROWS - 1)
    return frame.iloc[sorted({round(i * step) for i in range(HEADLINE_ROWS)})]


def per_repeat_tables(before: RunData, after: RunData) -> str:
    parts = []
    for role, run in (("before", before), ("after", after)):
        table = repeat_metrics(run).reset_index()
        parts += [f"**{role}: {run.name}**", "",
                  markdown_table(list(table.columns), table.itertuples(index=False)), ""]
    return "\n".join(parts)


def runs_table(*runs: tuple[str, RunData]) -> str:
    def facts(run: RunData) -> list[str]:
        meta, env = run.meta, run.meta.get("environment", {})
        config, store = meta.get("config", {}), meta.get("store", {})
        return [str(run.folder), f"{config.get('store')}"
                + (" + reuse" if config.get("reuse_loaded_store") else ""),
                meta.get("status", "?"), f"{run.repeats} x {run.last_cycle}",
                f"{store.get('size_bytes')} bytes, sha256 {str(store.get('sha256'))[:12]}",
                str(meta.get("heap_measure")), "yes" if config.get("trim") else "no",
                f"Python {env.get('python', {}).get('version')}",
                str(env.get("platform", {}).get("description")), str(env.get("cpu_count")),
                str(env.get("cgroup_memory_limit")), str(env.get("git_commit"))]

    names = ("folder", "store", "status", "repeats x cycles", "store file", "heap measure",
             "trimmed", "runtime", "platform", "CPUs", "cgroup memory limit", "harness commit")
    columns = [facts(run) for _, run in runs]
    return markdown_table(("", *(role for role, _ in runs)),
                          list(zip(names, *columns, strict=True)), align_right_from=len(runs) + 1)


def _fit(head: list[str], details: list[tuple[str, str]], max_chars: int) -> str:
    sections = dict(details)

    def render() -> str:
        return "\n".join(head + [f"<details><summary>{title}</summary>\n\n{text}\n\n"
                                 "</details>\n" for title, text in sections.items()])

    for title in sorted(sections, key=lambda t: -len(sections[t])):  # largest first
        if len(render()) <= max_chars:
            break
        sections[title] = LEFT_OUT
    body = render()
    if len(body) > max_chars:
        body = body[: max_chars - len(CUT_NOTE)] + CUT_NOTE
    return body


def _amount(value: float | None, unit: str) -> str:
    return "-" if value is None else f"{format_cell(float(value), _decimals(unit))} {unit}"


def _signed(value: float | None, unit: str) -> str:
    return "-" if value is None else f"{value:+.{_decimals(unit)}f} {unit}"


def _interval(interval: tuple[float, float] | None, unit: str, signed: bool = True) -> str:
    if interval is None:
        return "-"
    sign = "+" if signed else ""
    return f"[{interval[0]:{sign}.{_decimals(unit)}f}, {interval[1]:{sign}.{_decimals(unit)}f}]"


def _decimals(unit: str) -> int:
    return 3 if unit == "MB/cycle" else 1


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.1f}%"


def _p(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _change(row: MetricComparison) -> str:
    return f"{_signed(row.difference.change, row.metric.unit)}, " \
           f"{_percent(row.difference.relative)}"
