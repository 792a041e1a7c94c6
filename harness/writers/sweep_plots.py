"""PNG plots of a sweep: each metric against the store's size, log-log, one line per store.

On log-log axes a cost `c * size ** k` is a straight line of slope `k`, so lines can be compared
by their slopes at a glance; each line's label carries its fitted exponent and interval. Each
repeat is a faint point, the line joins the medians. matplotlib is imported lazily (in
`plots.py`'s helpers and here), so commands that draw nothing start fast.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import TYPE_CHECKING

from session_store_harness.errors import HarnessError
from session_store_harness.judging.catalog import BY_NAME
from session_store_harness.judging.growth import GrowthFit, SeriesGrowth
from session_store_harness.judging.metrics import values_of
from session_store_harness.model.run import MB
from session_store_harness.model.sweep_folder import Sweep
from session_store_harness.writers.folder import write_bytes
from session_store_harness.writers.plots import png_bytes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

# file name by metric; a metric not here is drawn as `sweep-<metric>.png`
PLOT_NAMES = {"cycle_ms_median": "sweep-cycle-time.png", "peak_rss_mb": "sweep-peak-rss.png",
              "heap_peak_mb": "sweep-heap.png", "heap_last_mb": "sweep-heap.png"}
REUSE_SUFFIX = "+reuse"  # `SweepCell.series` of a --reuse-loaded-store cell
WORKLOAD_TITLES = {"full": "load the whole store, update one entry",
                   "entry": "get one entry, update_entry it"}


def plot_name(metric: str) -> str:
    return PLOT_NAMES.get(metric, f"sweep-{metric}.png")


def sweep_plots(sweep: Sweep, growth: tuple[SeriesGrowth, ...],
                metrics: tuple[str, ...]) -> dict[str, bytes]:
    """PNG bytes by file name, one plot per metric."""
    return {plot_name(metric): png_bytes(draw_growth(sweep, growth, metric))
            for metric in metrics}


def write_sweep_plots(sweep: Sweep, growth: tuple[SeriesGrowth, ...], metrics: tuple[str, ...],
                      folder: Path, force: bool = False) -> list[str]:
    """Write the plots into `folder` (beside a report) and return their names. A plot already
    there is refused before any is drawn, unless `force`: never a silent overwrite."""
    names = [plot_name(metric) for metric in metrics]
    taken = [folder / name for name in names if (folder / name).exists()]
    if taken and not force:
        raise HarnessError(f"{taken[0]}: already exists; pass --force to replace it")
    for name, data in sweep_plots(sweep, growth, metrics).items():
        write_bytes(folder / name, data, force=force)
    return names


def draw_growth(sweep: Sweep, growth: tuple[SeriesGrowth, ...], metric: str) -> Figure:
    """`metric` against store size for every line of the sweep, not yet rendered: one panel per
    workload side by side on a shared y axis (a 4-store sweep of both workloads is 12 lines,
    unreadable on one), each store one colour in every panel, its `+reuse` line dashed."""
    from matplotlib.figure import Figure

    workloads = tuple(dict.fromkeys(line.workload for line in growth)) or ("full",)
    figure = Figure(figsize=(5.5 + 4.5 * len(workloads), 6.5), dpi=100, layout="constrained")
    panels = figure.subplots(1, len(workloads), sharey=True, squeeze=False)[0]
    colours = _colours(tuple(dict.fromkeys(_store(line.series) for line in growth)))
    label = BY_NAME[metric]
    for axes, workload in zip(panels, workloads, strict=True):
        for line in (line for line in growth if line.workload == workload):
            _draw_line(axes, sweep, line, metric, colours[_store(line.series)])
        _log_axes(axes)
        axes.set_xlabel("store size (MB, log scale)")
        axes.grid(True, which="both", alpha=0.3)
        if len(workloads) > 1:
            axes.set_title(f"workload {workload}: {WORKLOAD_TITLES.get(workload, workload)}",
                           fontsize="medium")
        if axes.get_legend_handles_labels()[0]:  # an empty legend warns
            axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=1,
                        fontsize="small")
    panels[0].set_ylabel(f"{label.label} ({label.unit}, log scale)")
    figure.suptitle(f"{label.label} against store size (slope k: cost ~ size^k)")
    return figure


def _draw_line(axes: Axes, sweep: Sweep, line: SeriesGrowth, metric: str, colour: str) -> None:
    """Each repeat a faint point, the medians joined; a `+reuse` line dashed."""
    points, medians = _points(sweep, line, metric)
    if points:
        axes.scatter([x for x, _ in points], [y for _, y in points], color=colour,
                     alpha=0.3, s=14, linewidths=0)
    if medians:
        reuse = line.series.endswith(REUSE_SUFFIX)
        axes.plot([x for x, _ in medians], [y for _, y in medians], color=colour,
                  linestyle="--" if reuse else "-", marker="s" if reuse else "o",
                  markersize=4 if reuse else 6, linewidth=1.5,
                  label=f"{line.series}: {exponent_text(line.fits[metric])}")


def _store(series: str) -> str:
    return series.removesuffix(REUSE_SUFFIX)


def _log_axes(axes: Axes) -> None:
    """Log scales labelled in plain figures (0.5, 20), not powers of ten: the sizes and costs
    of a sweep span a decade or two, and readers look up values on them."""
    from matplotlib.ticker import FuncFormatter

    plain = FuncFormatter(lambda value, _: f"{value:g}")
    axes.set_xscale("log")
    axes.set_yscale("log")
    for axis in (axes.xaxis, axes.yaxis):
        axis.set_major_formatter(plain)
        axis.set_minor_formatter(_minor_labels(axis))


def _minor_labels(axis: Axis) -> FuncFormatter:
    """Every minor tick labelled on an axis spanning less than a decade (else it may show one
    label, or none); on a longer one only 2, 3 and 5 of each decade, as all nine overprint."""
    from matplotlib.ticker import FuncFormatter

    def label(value: float, _: int) -> str:
        low, high = sorted(axis.get_view_interval())
        keep = range(1, 10) if low > 0 and high < 10 * low else (2, 3, 5)
        return f"{value:g}" if _leading_digit(value) in keep else ""

    return FuncFormatter(label)


def _leading_digit(value: float) -> int:
    return int(f"{value:e}"[0]) if value > 0 else 0


def _points(sweep: Sweep, line: SeriesGrowth,
            metric: str) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Every repeat's (size MB, value) and each size's median; values <= 0 cannot be drawn on
    a log axis and are left out, as the fit leaves them out."""
    points, medians = [], []
    for cell in sorted(sweep.cells_of(line.series, line.workload), key=lambda c: c.size_bytes):
        values = [v for v in values_of(cell.run, metric) if v > 0]
        size_mb = cell.size_bytes / MB
        points += [(size_mb, v) for v in values]
        if values:
            medians.append((size_mb, statistics.median(values)))
    return points, medians


def exponent_text(fit: GrowthFit) -> str:
    """`k = 1.02 [0.95, 1.09]`, or why there is no exponent."""
    if fit.exponent is None:
        return "no fit"
    interval = "" if fit.interval is None else \
        f" [{k_text(fit.interval[0])}, {k_text(fit.interval[1])}]"
    return f"k = {k_text(fit.exponent)}{interval}"


def k_text(value: float) -> str:
    """An exponent to 2 decimals; a flat line's tiny negative bound reads 0.00, not -0.00."""
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text


def _colours(series: tuple[str, ...]) -> dict[str, str]:
    # tab10 in order; past ten lines the colours repeat (the labels still tell them apart)
    return {name: f"C{index % 10}" for index, name in enumerate(series)}
