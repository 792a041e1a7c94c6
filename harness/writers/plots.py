"""PNG plots of a comparison. matplotlib is imported here only, so other commands start fast."""

from __future__ import annotations

import io
from collections.abc import Callable

from session_store_harness.judging.compare import Comparison
from session_store_harness.model.result_folder import RunData

PLOTS: dict[str, str] = {
    "rss_vs_cycle.png": "RSS at each sample, before and after",
    "cycle_time.png": "Time per cycle (load + update)",
    "rss_timeline.png": "RSS over time, sampled in the background",
}


def comparison_plots(comparison: Comparison) -> dict[str, bytes]:
    """PNG bytes by file name."""
    import matplotlib

    matplotlib.use("Agg")  # no display in CI
    drawers: dict[str, Callable] = {
        "rss_vs_cycle.png": _rss_vs_cycle,
        "cycle_time.png": _cycle_time,
        "rss_timeline.png": _rss_timeline,
    }
    return {name: _render(draw, comparison, PLOTS[name]) for name, draw in drawers.items()}


def _render(draw: Callable, comparison: Comparison, title: str) -> bytes:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=100)
    for role, run in (("before", comparison.before), ("after", comparison.after)):
        draw(axes, run, f"{role}: {run.name}")
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend()
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    plt.close(figure)
    return out.getvalue()


def _rss_vs_cycle(axes, run: RunData, label: str) -> None:
    by_cycle = run.samples.groupby("cycle")["rss_mb"]
    line, = axes.plot(by_cycle.median().index, by_cycle.median(), marker="o",
                      label=label + (f" (median of {run.repeats})" if run.repeats > 1 else ""))
    if run.repeats > 1:  # the band is the range across repeats
        axes.fill_between(by_cycle.min().index, by_cycle.min(), by_cycle.max(),
                          color=line.get_color(), alpha=0.2)
    axes.set_xlabel("cycle")
    axes.set_ylabel("RSS (MB)")


def _cycle_time(axes, run: RunData, label: str) -> None:
    median = run.cycles.groupby("cycle")["cycle_ms"].median()
    axes.plot(median.index, median, label=label)
    axes.set_xlabel("cycle")
    axes.set_ylabel("time per cycle (ms)" + (", median of repeats" if run.repeats > 1 else ""))


def _rss_timeline(axes, run: RunData, label: str) -> None:
    color = None
    for _repeat, points in run.timeline.groupby("repeat"):
        line, = axes.plot(points["time_ms"] / 1000, points["rss_mb"], linewidth=1, color=color,
                          label=label if color is None else None, alpha=0.8)
        color = line.get_color()  # one colour per run, one line per repeat
    axes.set_xlabel("time since worker start (s)")
    axes.set_ylabel("RSS (MB)")
