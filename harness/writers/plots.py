"""PNG plots of a comparison. matplotlib is imported here only, so other commands start fast."""

from __future__ import annotations

import io
from collections.abc import Callable

from harness.compare import Comparison
from harness.results import RunData

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
    axes.plot(run.samples["cycle"], run.samples["rss_mb"], marker="o", label=label)
    axes.set_xlabel("cycle")
    axes.set_ylabel("RSS (MB)")


def _cycle_time(axes, run: RunData, label: str) -> None:
    axes.plot(run.cycles["cycle"], run.cycles["cycle_ms"], label=label)
    axes.set_xlabel("cycle")
    axes.set_ylabel("time per cycle (ms)")


def _rss_timeline(axes, run: RunData, label: str) -> None:
    axes.plot(run.timeline["time_ms"] / 1000, run.timeline["rss_mb"], label=label, linewidth=1)
    axes.set_xlabel("time since worker start (s)")
    axes.set_ylabel("RSS (MB)")
