"""What `harness history show` prints: one line per metric, and what was left out."""

from __future__ import annotations

from session_store_harness.judging.change_points import MIN_POINTS, HistoryJudgement
from session_store_harness.writers.history_markdown import describe_step


def history_text(judgement: HistoryJudgement) -> str:
    lines = [f"{len(judgement.records)} commits, {len(judgement.comparable)} comparable with "
             f"the newest ({judgement.newest.short})"]
    if judgement.excluded:
        lines.append(f"left out ({len(judgement.excluded)}, not comparable with the newest): "
                     + ", ".join(f"{e.record.short} ({' and '.join(e.reasons)})"
                                 for e in judgement.excluded[-10:])
                     + (", ..." if len(judgement.excluded) > 10 else ""))
    for series in judgement.series:
        detection = series.detection
        if not detection.enough:
            verdict = (f"too little history to detect steps ({detection.points} of the "
                       f"{MIN_POINTS} comparable commits needed)")
        elif not detection.steps:
            verdict = f"no step over {detection.points} commits"
        else:
            verdict = "; ".join(f"step at {series.records[s.index].short}: "
                                f"{describe_step(s, series.unit)}" for s in detection.steps)
        lines.append(f"{series.label}: {verdict}")
    return "\n".join(lines) + "\n"
