"""`history.png`: each metric over commits, one panel a metric, steps marked. matplotlib is
imported here only, inside the functions, so commands that draw nothing start fast.

x is the commit's place in the history (labelled with short SHAs, thinned to stay legible);
points that cannot be compared with the newest are drawn grey and left out of the fit.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from session_store_harness.judging.change_points import HistoryJudgement, MetricSeries, levels
from session_store_harness.writers.history_markdown import describe_step

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

MAX_TICK_LABELS = 30
PANEL_HEIGHT_IN = 2.6
POINT, LEVEL, STEP, EXCLUDED = "tab:blue", "tab:orange", "tab:red", "tab:gray"


def history_png(judgement: HistoryJudgement) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = draw_history(judgement)
    FigureCanvasAgg(figure)  # Agg for this figure only: no display in CI
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def draw_history(judgement: HistoryJudgement) -> Figure:
    """The figure, not yet rendered (tests read its lines)."""
    from matplotlib.figure import Figure

    panels = len(judgement.series)
    figure = Figure(figsize=(10, 1.2 + PANEL_HEIGHT_IN * panels), dpi=100, layout="constrained")
    axes_list = figure.subplots(panels, 1, sharex=True, squeeze=False)[:, 0]
    place = {record.commit: index for index, record in enumerate(judgement.records)}
    for axes, series in zip(axes_list, judgement.series, strict=True):
        _panel(axes, series, place, judgement)
    _commit_axis(axes_list[-1], judgement)
    axes_list[0].legend(loc="best", fontsize="small")
    grey = ("; grey: not comparable with the newest, left out of the fit"
            if judgement.excluded else "")
    figure.suptitle(f"{len(judgement.records)} commits, newest {judgement.newest.short}{grey}")
    return figure


def _panel(axes: Axes, series: MetricSeries, place: dict[str, int],
           judgement: HistoryJudgement) -> None:
    xs = [place[r.commit] for r in series.records]
    axes.plot(xs, series.values, marker="o", markersize=3, linewidth=0.8, color=POINT,
              label="median over repeats")
    excluded = [(place[e.record.commit], e.record.value(series.metric))
                for e in judgement.excluded if e.record.value(series.metric) is not None]
    if excluded:
        axes.plot(*zip(*excluded, strict=True), linestyle="none", marker="x", color=EXCLUDED,
                  label="not comparable")
    if series.detection.enough:
        # "mid": the level changes halfway between two commits, where the step's line is
        axes.step(xs, levels(series.values, series.detection), where="mid", color=LEVEL,
                  linewidth=1.5, label="level between steps")
    for step in series.detection.steps:
        x = xs[step.index]
        axes.axvline(x - 0.5, color=STEP, linestyle="--", linewidth=1)
        axes.annotate(f"{series.records[step.index].short}: {describe_step(step, series.unit)}",
                      (x - 0.5, 0.5), xycoords=("data", "axes fraction"), xytext=(4, 0),
                      textcoords="offset points", va="center", fontsize="small", color=STEP,
                      bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"})
    axes.set_ylabel(f"{series.unit}")
    axes.set_title(series.label, fontsize="medium", loc="left")
    axes.grid(True, alpha=0.3)


def _commit_axis(axes: Axes, judgement: HistoryJudgement) -> None:
    count = len(judgement.records)
    every = max(1, -(-count // MAX_TICK_LABELS))  # ceiling: at most MAX_TICK_LABELS labels
    ticks = list(range(0, count, every))
    axes.set_xticks(ticks, [judgement.records[i].short for i in ticks], rotation=60,
                    fontsize="small", family="monospace")
    axes.set_xlabel("commit, in the order added" + (f" (every {every}th labelled)"
                                                    if every > 1 else ""))
