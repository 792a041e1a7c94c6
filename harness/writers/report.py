"""report.md of a comparison: headline, deltas with verdicts, samples, plots, environment.

Setup differences come first, above the headline; the headline states a change only where the
deltas table's verdict is better or worse. Fits one screen at the top and a GitHub comment in
all: details are in collapsible sections, and sections are dropped, largest first, until the
report is under `MAX_CHARS`.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from session_store_harness.judging.compare import Comparison, MetricComparison
from session_store_harness.judging.metrics import BY_NAME, RunSummary, repeat_metrics, summarize
from session_store_harness.model.frames import median_by_cycle, samples_frame
from session_store_harness.model.run import Run
from session_store_harness.model.store_spec import BUILTIN, WORKER_COMMAND
from session_store_harness.writers.measures import (
    has_heap_peaks,
    measures_note,
    peak_label,
    peak_phrase,
)
from session_store_harness.writers.mermaid import Series, line_chart
from session_store_harness.writers.table import format_cell, markdown_table

MAX_DECIMALS = 3  # the CSVs' resolution (1 KiB); MB/cycle figures already show this many
MAX_CHARS = 60_000  # GitHub's comment limit is 65,536
SEED_COLUMNS = ("rss_mb", "heap_mb", "external_mb", "store_kb", "elapsed_ms")
TRIMMED_COLUMN = "untrimmed_rss_mb"  # shown beside rss_mb when a run used --trim
HEAP_PEAK_COLUMN = "heap_peak_mb"  # shown beside heap_mb when a run traced its heap
PEAK_METRIC = "peak_rss_mb"  # its label says how the peak was taken
HEADLINE_ROWS = 21  # a longer samples table is thinned on screen and kept whole in details
LEFT_OUT = "(left out: too long for one comment; see the run folders)"
CUT_NOTE = "\n\n(report cut to fit a GitHub comment; see the run folders)"
# steady RSS, not RSS at the last cycle: the last reading is a random point on a sawtooth
HEADLINE_METRICS = ("rss_steady_mb", "cycle_ms_median")
CHANGE_VERBS = {"better": "fell", "worse": "rose"}  # lower is better for every metric


def comparison_report(comparison: Comparison, plots: Iterable[str],
                      max_chars: int = MAX_CHARS) -> str:
    before, after = comparison.before, comparison.after
    head = [f"# Session store memory: {before.name} → {after.name}", "",
            *not_comparable_block(comparison), headline(comparison), ""]
    head += [f"> ⚠️ {warning}" for warning in comparison.warnings]
    samples = side_by_side_frame(before, after)
    roles = (("before", before), ("after", after))
    labels = {PEAK_METRIC: peak_label(BY_NAME[PEAK_METRIC].label, roles)}
    head += ["", "## Deltas", "", deltas_table(comparison.metrics, comparison.alpha, labels),
             ""]
    detectable = detectable_sentence(comparison)
    head += [detectable, ""] if detectable else []
    head += ["## RSS per cycle", "", rss_chart(samples), ""]
    head += ["## Samples (median across repeats)", "", frame_table(_thin(samples)), "",
             measures_note(roles), ""]
    images = [f"![{Path(name).name}]({name})" for name in plots]
    head += ["## Plots", "", *images, ""] if images else []
    details = [("Environment", runs_table(("before", before), ("after", after))),
               ("Per-repeat figures", per_repeat_tables(before, after))]
    if len(samples) > HEADLINE_ROWS:
        details.append(("All samples", frame_table(samples)))
    return _fit(head, details, max_chars)


def rss_chart(samples: pd.DataFrame) -> str:
    """RSS per cycle, before and after, as a Mermaid chart: GitHub draws it in a comment or a
    step summary, where the PNGs linked below render only beside the run folders."""
    names = [f"rss_mb {role}" for role in ("before", "after")]
    if any(name not in samples.columns for name in names):
        return ""
    series = [Series(role, [None if pd.isna(v) else float(v) for v in samples[name]])
              for role, name in zip(("before", "after"), names, strict=True)]
    return line_chart("RSS per cycle (median across repeats)", "cycle",
                      [str(int(c)) for c in samples["cycle"]], "RSS (MB)", series)


def not_comparable_block(comparison: Comparison) -> list[str]:
    """The setup differences, first thing under the title: every figure below depends on them,
    so a reader must not take the deltas for the code's effect before seeing them."""
    if not comparison.mismatches:
        return []
    keys = ",".join(m.key for m in comparison.mismatches)
    return ["> **⚠️ Not comparable**: the runs differ in more than the code under test, so the "
            "figures below are not its effect alone. `harness gate` refuses these runs unless "
            f"the difference is intended (`--allow-different {keys}`).", ">",
            *(f"> - {m.describe()}" for m in comparison.mismatches), ""]


def run_report_md(run: Run, max_chars: int = MAX_CHARS) -> str:
    """A single run's report: headline, summary with intervals, samples, environment."""
    summary = summarize(run)
    rss, peak = summary.get("rss_steady_mb"), summary.get("peak_rss_mb")
    figures = (f"{rss.metric.label} {_amount(rss.median, rss.metric.unit)}, {peak.metric.label} "
               f"{_amount(peak.median, peak.metric.unit)} ({peak_phrase(run.peak_method)}; "
               f"median of {summary.repeats} repeat(s)).")
    head = [f"# Session store memory: {run.name}", "", figures[0].upper() + figures[1:], ""]
    if not run.complete:
        head.append(f"> ⚠️ incomplete run ({run.status}: {run.error})")
    labels = {PEAK_METRIC: peak_label(BY_NAME[PEAK_METRIC].label, (("run", run),))}
    head += ["## Summary", "", summary_table(summary, labels), ""]
    samples = median_by_cycle(run)[["cycle", *_columns(run)]]
    head += ["## Samples (median across repeats)", "", frame_table(_thin(samples)), "",
             measures_note((("run", run),)), ""]
    details = [("Environment", runs_table(("run", run)))]
    if len(samples) > HEADLINE_ROWS:
        details.append(("All samples", frame_table(samples)))
    return _fit(head, details, max_chars)


def summary_table(summary: RunSummary, labels: dict[str, str] | None = None) -> str:
    """Each metric's median, the interval of its mean ("-" from fewer than two values), and
    every repeat's value; metrics the run has no figure of (a heap peak untraced) left out.
    `labels` replaces a metric's label (to say how it was measured)."""
    labels = labels or {}
    return markdown_table(("metric", "median", "95% CI of mean", "values"), [
        (labels.get(m.metric.name, m.metric.label), _amount(m.median, m.metric.unit),
         _interval(m.ci95_of_mean, m.metric.unit, signed=False),
         ", ".join(format_cell(v, 3) for v in m.values))
        for m in summary.metrics if any(v is not None for v in m.values)])


def headline(comparison: Comparison) -> str:
    """One sentence a reviewer can quote that says no more than the deltas table: a change is
    stated as one only where its verdict is better or worse."""
    rows = [row for row in map(comparison.get, HEADLINE_METRICS) if row is not None]
    if not rows:
        return "No figures to compare."
    untold = [row for row in rows if row.difference.verdict == "too few repeats"]
    parts = [_phrase(row) for row in rows if row not in untold]
    if untold:
        parts.append(_too_few_phrase(comparison, untold))
    sentence = "; ".join(parts)
    return sentence[0].upper() + sentence[1:] + "."


def _phrase(row: MetricComparison) -> str:
    diff, metric = row.difference, row.metric
    if diff.verdict in CHANGE_VERBS:
        return (f"{metric.label} {CHANGE_VERBS[diff.verdict]} from "
                f"{_amount(diff.before_median, metric.unit)} to "
                f"{_amount(diff.after_median, metric.unit)} ({_change(row)})")
    return f"no significant change in {metric.label}" + (" (noisy)" if diff.noisy else "")


def _too_few_phrase(comparison: Comparison, rows: list[MetricComparison]) -> str:
    labels = " or ".join(row.metric.label for row in rows)
    return (f"too few repeats to tell a change in {labels} ({len(comparison.before.measured)} "
            f"before, {len(comparison.after.measured)} after; at least {comparison.min_repeats} "
            "a side are needed)")


def deltas_table(rows: Iterable[MetricComparison], alpha: float = 0.05,
                 labels: dict[str, str] | None = None) -> str:
    """`labels` replaces a metric's label (to say how it was measured)."""
    labels = labels or {}
    return markdown_table(
        ("metric", "before", "after", "change", "relative",
         f"{confidence(alpha)} interval of change", "p",
         "detectable change", "verdict"),
        [(labels.get(row.metric.name, row.metric.label),
          _amount(row.difference.before_median, row.metric.unit),
          _amount(row.difference.after_median, row.metric.unit),
          _signed(row.difference.change, row.metric.unit), _percent(row.difference.relative),
          _interval(row.difference.interval, row.metric.unit), _p(row.difference.p_value),
          _size(row.difference.mdc, row.metric.unit),
          row.difference.verdict + (" (noisy)" if row.difference.noisy else ""))
         for row in rows])


def confidence(alpha: float) -> str:
    """0.05 as 95%, 0.0125 as 98.75%: the level an interval of a test at `alpha` has."""
    return f"{(1 - alpha) * 100:.4g}%"


def detectable_sentence(comparison: Comparison) -> str:
    """What the run could have seen: the minimum detectable change of the headline metrics, so
    "no significant change" is read as "none larger than this", not as "none". Empty when
    there are too few repeats for any (the headline says so already)."""
    rows = [row for row in map(comparison.get, HEADLINE_METRICS)
            if row is not None and row.difference.mdc is not None]
    if not rows:
        return ""
    before, after = len(comparison.before.measured), len(comparison.after.measured)
    design = (f"{before} repeats a side" if before == after
              else f"{before} repeats before and {after} after")
    sizes = " and of ".join(f"{_detectable(row)} or more in {row.metric.label}" for row in rows)
    return (f"With {design} this comparison could tell apart changes of {sizes} "
            f"(80% power at p < {comparison.alpha:.4g}).{_design_note(comparison)}")


def _design_note(comparison: Comparison) -> str:
    """How many repeats a sequential run needed, where it was one."""
    run = comparison.after
    if run.max_repeat is None:
        return ""
    return (f" The interleaved run stopped after {len(run.measured)} of at most "
            f"{run.max_repeat} repeats a side ({run.planned_looks} looks planned; each test "
            f"at p < {comparison.alpha:.4g} so that stopping early costs no false verdicts).")


def _detectable(row: MetricComparison) -> str:
    """The MDC, and as a share of the baseline where the baseline is over the metric's floor."""
    diff, metric = row.difference, row.metric
    amount = _size(diff.mdc, metric.unit)
    base = abs(diff.before_median)
    if base < metric.floor or diff.mdc < 10 ** -MAX_DECIMALS:
        return amount
    return f"{amount} ({diff.mdc / base:.1%})"


def side_by_side_frame(before: Run, after: Run) -> pd.DataFrame:
    """The seed-style columns of both runs, one row per cycle, medians across repeats."""
    merged = pd.merge(median_by_cycle(before), median_by_cycle(after), on="cycle",
                      how="outer", suffixes=(" before", " after")).sort_values("cycle")
    names = dict.fromkeys([*_columns(before), *_columns(after)])
    columns = [f"{name} {role}" for name in names for role in ("before", "after")
               if f"{name} {role}" in merged.columns]
    return merged[["cycle", *columns]]


def _columns(run: Run) -> list[str]:
    """The seed-style columns, with the untrimmed RSS after rss_mb for a --trim run and the
    traced heap peak after heap_mb for a run that has one."""
    columns = list(SEED_COLUMNS)
    if run.config.trim and samples_frame(run)[TRIMMED_COLUMN].notna().any():
        columns.insert(columns.index("rss_mb") + 1, TRIMMED_COLUMN)
    if has_heap_peaks(run):
        columns.insert(columns.index("heap_mb") + 1, HEAP_PEAK_COLUMN)
    return columns


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


def per_repeat_tables(before: Run, after: Run) -> str:
    parts = []
    for role, run in (("before", before), ("after", after)):
        rows = repeat_metrics(run)
        names = [name for name in (rows[0] if rows else [])  # not a metric the run lacks
                 if any(row[name] is not None for row in rows)]
        parts += [f"**{role}: {run.name}**", "", markdown_table(["repeat", *names], [
            (index, *(_plain(row[name], BY_NAME[name].unit) for name in names))
            for index, row in enumerate(rows, start=1)]), ""]
    return "\n".join(parts)


ENVIRONMENT_ROWS = ("folder", "store", "store kind", "store code", "status", "repeats x cycles",
                    "store file", "heap measure", "trimmed", "runtime", "platform", "CPUs",
                    "cgroup memory limit", "harness commit", "store code commit")


def runs_table(*runs: tuple[str, Run]) -> str:
    """The setup of each run, one column each: what its figures depend on besides the code."""
    columns = [_environment_facts(run) for _, run in runs]
    return markdown_table(("", *(role for role, _ in runs)),
                          list(zip(ENVIRONMENT_ROWS, *columns, strict=True)),
                          align_right_from=len(runs) + 1)


def _environment_facts(run: Run) -> list[str]:
    env, config = run.environment, run.config
    # the runtime is the worker's own word (`node v20.20.2`), never the harness's Python
    # a full run's cell reads as it always did; an entry run's says so
    entry = f" ({config.workload} workload)" if config.workload != "full" else ""
    return [str(run.folder), config.store + (" + reuse" if config.reuse_loaded_store else "")
            + entry,
            store_kind(run), _store_code(env), run.status,
            f"{len(run.measured)} x {run.last_cycle}",
            f"{run.store.size_bytes} bytes, sha256 {run.store.sha256[:12]}",
            str(run.heap_measure), "yes" if config.trim else "no", run.runtime,
            _text(env.get("platform", {}).get("description")), _text(env.get("cpu_count")),
            _text(env.get("cgroup_memory_limit")), _text(env.get("git_commit")),
            _text(_store_commit(env))]


def store_kind(run: Run) -> str:
    """What the store was, and what ran it: `built-in, python`, `node-module`, a worker
    command's own command line."""
    spec = run.config.spec
    if spec.kind == WORKER_COMMAND:
        return f"{spec.kind} `{shlex.join(spec.command)}`"
    return f"{spec.kind}, {spec.runtime}" if spec.kind == BUILTIN else spec.kind


def _store_code(env: dict[str, Any]) -> str:
    """The file holding the code under test, its SHA-256 and its own git state, as recorded
    (a run recorded before these were kept has its path only)."""
    code = env.get("code_under_test", {}).get("store", {})
    if not code.get("path"):
        return "-"
    facts = [f"sha256 {code['sha256'][:12]}"] if code.get("sha256") else []
    facts += [code["git_file_state"]] if code.get("git_file_state") else []
    return Path(code["path"]).name + (f" ({', '.join(facts)})" if facts else "")


def _store_commit(env: dict[str, Any]) -> str | None:
    """The commit of the code under test; runs recorded before it was kept have none."""
    return env.get("code_under_test", {}).get("store", {}).get("git_commit")


def _text(value: object) -> str:
    return "-" if value is None else str(value)


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


def _size(value: float | None, unit: str) -> str:
    """A magnitude with two significant digits at least, down to the CSVs' 0.001 resolution: a
    detectable change of 0.04 MB must not read as 0.0 MB, "any change at all"."""
    if value is None:
        return "-"
    if value < 10 ** -MAX_DECIMALS:  # repeats that all agree: any change the CSVs can show
        return f"< {10 ** -MAX_DECIMALS:.{MAX_DECIMALS}f} {unit}"
    digits = min(max(_decimals(unit), 1 - math.floor(math.log10(abs(value)))), MAX_DECIMALS)
    return f"{format_cell(float(value), digits)} {unit}"


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


def _plain(value: float | None, unit: str) -> str:
    return format_cell(value, _decimals(unit))


def _change(row: MetricComparison) -> str:
    """The absolute change, always; the relative one only over the metric's floor."""
    change = _signed(row.difference.change, row.metric.unit)
    relative = row.difference.relative
    return change if relative is None else f"{change}, {_percent(relative)}"
