"""`history.md`: each metric over commits as a Mermaid `xychart-beta` chart (GitHub renders it),
the steps found, and what was left out and why.

GitHub shows at most 65,536 characters of a comment or step summary, so the text stays under
`MAX_CHARS` at any history length: each chart shows the newest `MAX_CHART_POINTS` comparable
commits (and says so), and the lists of steps and excluded commits are cut to their newest
entries. Detection always runs over the whole comparable series; the PNG and the CSV hold all.
"""

from __future__ import annotations

from session_store_harness.judging.change_points import (
    MIN_POINTS,
    PENALTY_FACTOR,
    HistoryJudgement,
    MetricSeries,
    Step,
    levels,
)
from session_store_harness.model.history import HistoryRecord
from session_store_harness.writers.mermaid import axis_range, number
from session_store_harness.writers.table import format_cell, markdown_table

MAX_CHARS = 60_000  # GitHub's limit is 65,536; the margin is for a caller's heading
MAX_CHART_POINTS = 100
MAX_LISTED = 20  # steps a metric, excluded commits


def describe_step(step: Step, unit: str) -> str:
    """`+14.4 MB (+46.2%)`: the step's size, absolute and relative to the level before."""
    percent = step.percent
    relative = "" if percent is None else f" ({percent:+.1f}%)"
    return f"{step.size:+.1f} {unit}{relative}"


def history_markdown(judgement: HistoryJudgement, source: str, png: str | None) -> str:
    """The whole report; `source` names the history file, `png` the plot beside the report."""
    parts = [_heading(judgement, source), _comparable(judgement)]
    parts += [_metric_section(series) for series in judgement.series]
    if png:
        parts.append(f"![each metric over commits]({png})\n")
    text = "\n".join(parts)
    if len(text) > MAX_CHARS:  # by construction it is not; never hand GitHub a cut report
        raise AssertionError(f"history.md came to {len(text)} characters")
    return text


def _heading(judgement: HistoryJudgement, source: str) -> str:
    newest = judgement.newest
    when = f", committed {newest.commit_time}" if newest.commit_time else ""
    return (f"# Memory and time across commits\n\n{len(judgement.records)} commits in "
            f"`{source}`, oldest first; newest `{newest.short}`{when}, store "
            f"`{newest.store.get('written')}`.\n\nSteps are found by ruptures (Pelt search, "
            f"least-squares cost) with the penalty {PENALTY_FACTOR} ln(n) sigma^2, sigma the "
            "series' own noise (median absolute deviation of successive differences, at "
            "least the metric's floor and 1% of its level). Each figure is a commit's median "
            "over its repeats.\n")


def _comparable(judgement: HistoryJudgement) -> str:
    newest = judgement.newest
    env = newest.environment
    lines = [f"Judged together: the {len(judgement.comparable)} commits with the newest's "
             f"workload (`{newest.workload_fingerprint}`) and environment "
             f"(`{newest.environment_fingerprint}`: {_runtime(env)}{env.get('system')} "
             f"{env.get('machine')}, "
             f"{env.get('cpu_count')} CPUs, {env.get('memory_gib')} GiB)."]
    if judgement.excluded:
        shown = judgement.excluded[-MAX_LISTED:]
        more = len(judgement.excluded) - len(shown)
        lines.append(f"\nNot comparable, so left out of every judgement "
                     f"({len(judgement.excluded)}"
                     + (f"; the newest {len(shown)} listed" if more else "") + "): "
                     + ", ".join(f"`{e.record.short}` ({' and '.join(e.reasons)})"
                                 for e in shown) + ".")
    return "\n".join(lines) + "\n"


def _runtime(env: dict[str, object]) -> str:
    """The interpreter, and the worker's runtime when it is another (Node)."""
    python, runtime = str(env.get("python")), str(env.get("runtime"))
    return f"{python}, " + ("" if runtime.lower() == python.lower() else f"{runtime}, ")


def _metric_section(series: MetricSeries) -> str:
    lines = [f"## {series.label} ({series.unit})\n", _verdict(series)]
    if series.values:
        lines.append(_chart(series))
    return "\n".join(lines)


def _verdict(series: MetricSeries) -> str:
    detection = series.detection
    if not detection.enough:
        return (f"Too little history to detect steps: {detection.points} of the {MIN_POINTS} "
                "comparable commits with this figure needed.\n")
    settings = (f"{detection.points} commits, sigma {format_cell(detection.sigma, 2)} "
                f"{series.unit}, penalty {format_cell(detection.penalty, 2)} {series.unit}²")
    if not detection.steps:
        return f"No step ({settings}).\n"
    steps = detection.steps[-MAX_LISTED:]
    rows = [[f"`{series.records[s.index].short}`", s.before, s.after,
             f"{s.size:+.1f}", "-" if s.percent is None else f"{s.percent:+.1f}%"]
            for s in steps]
    cut = (f" (the newest {len(steps)} of {len(detection.steps)})"
           if len(steps) < len(detection.steps) else "")
    table = markdown_table(["first commit of the step", f"before ({series.unit})",
                            f"after ({series.unit})", f"step ({series.unit})", "step (%)"],
                           rows)
    count = len(detection.steps)
    return f"{count} step{'s' if count > 1 else ''}{cut} ({settings}):\n\n{table}\n"


def _chart(series: MetricSeries) -> str:
    """A Mermaid xychart: the commits' figures, and the fitted level as a second line."""
    start = max(0, len(series.values) - MAX_CHART_POINTS)
    records, values = series.records[start:], series.values[start:]
    fitted = levels(series.values, series.detection)[start:] if series.detection.enough else []
    low, high, decimals = axis_range([*values, *fitted])
    note = (f"Chart: the newest {len(values)} of {len(series.values)} commits; history.png "
            "and history.csv hold them all.\n\n" if start else "")
    lines = ["```mermaid", "xychart-beta",
             f'    title "{series.label}"',
             f"    x-axis [{', '.join(_label(r) for r in records)}]",
             f'    y-axis "{series.unit}" {number(low, decimals)} --> {number(high, decimals)}',
             f"    line [{', '.join(number(v, decimals + 1) for v in values)}]"]
    if fitted:
        lines.append(f"    line [{', '.join(number(v, decimals + 1) for v in fitted)}]")
    lines.append("```")
    legend = ("First line: each commit's median; second: the level between steps.\n\n"
              if fitted else "")
    return note + legend + "\n".join(lines) + "\n"


def _label(record: HistoryRecord) -> str:
    return f'"{record.short}"'  # quoted: a SHA of digits only would read as a number

