"""PNG plots of a comparison. matplotlib is imported here only, so other commands start fast.

`draw(name, comparison)` builds one plot as a `Figure` without rendering it, so tests can read
its lines and bands; `comparison_plots` renders every plot to PNG bytes. Before is always blue
and after orange, in every plot.
"""

from __future__ import annotations

import io
import statistics
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from session_store_harness.judging.compare import Comparison
from session_store_harness.model.frames import cycles_frame, samples_frame, timeline_frame
from session_store_harness.model.run import MB, Run

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PLOTS: dict[str, str] = {
    "rss_vs_cycle.png": "RSS at each sample, before and after",
    "cycle_time.png": "Time per cycle (load + update)",
    "rss_timeline.png": "RSS over time, sampled in the background",
}

COLOURS = {"before": "tab:blue", "after": "tab:orange"}
# Repeat r of either run is drawn with style (r - 1) % 4, so one key explains both runs.
REPEAT_STYLES = ("-", "--", ":", "-.")


def comparison_plots(comparison: Comparison) -> dict[str, bytes]:
    """PNG bytes by file name."""
    return {name: png_bytes(draw(name, comparison)) for name in PLOTS}


def draw(name: str, comparison: Comparison) -> Figure:
    """The plot `name` (a key of `PLOTS`) as a figure, not yet rendered."""
    from matplotlib.figure import Figure

    # A bare Figure, not pyplot: no global figure list to leak into, no backend to switch.
    figure = Figure(figsize=(8, 5.5), dpi=100, layout="constrained")
    axes = figure.subplots()
    DRAWERS[name](axes, comparison)
    axes.set_title(PLOTS[name])
    axes.grid(True, alpha=0.3)
    return figure


def png_bytes(figure: Figure) -> bytes:
    """The figure rendered to PNG with Agg (no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)  # Agg for this figure only: no display in CI
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def _runs(comparison: Comparison) -> Iterator[tuple[str, Run]]:
    yield "before", comparison.before
    yield "after", comparison.after


def _legend(axes: Axes, handles: list[Artist] | None = None, ncols: int = 2) -> None:
    # Below the axes, outside the data: the lines it would cover are the ones that matter.
    handles = handles if handles is not None else axes.get_legend_handles_labels()[0]
    if handles:  # an empty legend warns
        axes.figure.legend(handles=handles, loc="outside lower center", ncols=ncols,
                           fontsize="small")


def _cycle_axis(axes: Axes, label: str) -> None:
    from matplotlib.ticker import MaxNLocator

    # Whole cycles in steps of 1, 2, 5 or 10: samples are usually taken every 5 or 10.
    axes.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    axes.set_xlabel(label)


def _median_of(count: int) -> str:
    return f"median of {count}" if count > 1 else "1 repeat"


def _repeats(count: int) -> str:
    return "1 repeat" if count == 1 else f"{count} repeats"


def _rss_vs_cycle(axes: Axes, comparison: Comparison) -> None:
    from matplotlib.colors import to_rgba

    for role, run in _runs(comparison):
        colour, frame = COLOURS[role], samples_frame(run)
        count, by_cycle = frame["repeat"].nunique(), frame.groupby("cycle")["rss_mb"]
        median = by_cycle.median()
        # The markers are the readings; the faint line only guides the eye, since nothing was
        # read between two samples (the peak line and the timeline say what happened there).
        axes.plot(median.index, median, marker="o", color=to_rgba(colour, 0.35), linewidth=1,
                  markerfacecolor=colour, markeredgecolor=colour,
                  label=f"{role}: {run.name}, {_median_of(count)}")
        if count > 1:
            axes.fill_between(median.index, by_cycle.min(), by_cycle.max(), color=colour,
                              alpha=0.2, linewidth=0,
                              label=f"{role}: range across {count} repeats (min..max)")
        peaks = [r.peak_rss_bytes / MB for r in run.measured if r.peak_rss_bytes is not None]
        if peaks:
            peak = statistics.median(peaks)
            axes.axhline(peak, color=colour, linestyle="--", linewidth=1.2,
                         label=f"{role}: peak RSS ({_median_of(len(peaks))}) {peak:.1f} MB")
    _cycle_axis(axes, "cycle (points are samples: nothing was read between them)")
    axes.set_ylabel("RSS (MB)")
    _legend(axes)


def _cycle_time(axes: Axes, comparison: Comparison) -> None:
    for role, run in _runs(comparison):
        colour, frame = COLOURS[role], cycles_frame(run)
        count, by_cycle = frame["repeat"].nunique(), frame.groupby("cycle")["cycle_ms"]
        median = by_cycle.median()
        axes.plot(median.index, median, color=colour, linewidth=1.2,
                  label=f"{role}: {run.name}, {_median_of(count)}")
        if count > 1:  # timings are noisy: the spread says how far one line can be trusted
            axes.fill_between(median.index, by_cycle.min(), by_cycle.max(), color=colour,
                              alpha=0.2, linewidth=0,
                              label=f"{role}: range across {count} repeats (min..max)")
    _cycle_axis(axes, "cycle")
    axes.set_ylabel("time per cycle (ms)")
    _legend(axes)


def _rss_timeline(axes: Axes, comparison: Comparison) -> None:
    from matplotlib.lines import Line2D

    handles: list[Artist] = []
    repeats = 0
    for role, run in _runs(comparison):
        frame = timeline_frame(run)
        for repeat, points in frame.groupby("repeat"):
            axes.plot(points["time_ms"] / 1000, points["rss_mb"], color=COLOURS[role],
                      linewidth=1, alpha=0.8, linestyle=REPEAT_STYLES[(repeat - 1) % 4])
        repeats = max(repeats, len(run.repeats))
        handles.append(Line2D([], [], color=COLOURS[role], linewidth=4,
                              label=f"{role}: {run.name}, {_repeats(frame['repeat'].nunique())}"))
    # One grey key for the line styles instead of an entry per run and repeat.
    for index, style in enumerate(REPEAT_STYLES[:repeats]):
        names = ", ".join(f"r{r}" for r in range(index + 1, repeats + 1, len(REPEAT_STYLES)))
        handles.append(Line2D([], [], color="grey", linestyle=style, label=names))
    axes.set_xlabel("time since worker start (s)")
    axes.set_ylabel("RSS (MB)")
    _legend(axes, handles, ncols=len(handles))


DRAWERS: dict[str, Callable[[Axes, Comparison], None]] = {
    "rss_vs_cycle.png": _rss_vs_cycle,
    "cycle_time.png": _cycle_time,
    "rss_timeline.png": _rss_timeline,
}
