"""report.md of a sweep: each store's growth exponents, the figures by size, the plots.

Fits a GitHub comment as the run and comparison reports do (`report.MAX_CHARS`): the details
go first, then the text is cut with a note.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from session_store_harness.judging.catalog import BY_NAME
from session_store_harness.judging.growth import GrowthFit, SeriesGrowth
from session_store_harness.judging.metrics import summarize
from session_store_harness.model.run import MB
from session_store_harness.model.sweep_folder import DEFAULT_WORKLOAD, Sweep, SweepCell
from session_store_harness.writers.measures import measures_note, peak_phrase
from session_store_harness.writers.report import MAX_CHARS, _fit
from session_store_harness.writers.sweep_plots import k_text
from session_store_harness.writers.table import format_cell, markdown_table

READING = ("`k` is the slope of log(cost) on log(store size), fitted by least squares over every "
           "repeat's value, with its {level:.0%} interval (Student's t on n - 2 degrees of "
           "freedom): **k = 1.0 means the cost grows linearly with the store** (twice the store, "
           "twice the cost), **k = 0 means it does not depend on the store's size**, 0.5 that "
           "it grows as the square root. Figures are totals: a fixed part (the runtime itself, "
           "some MB of RSS) pulls `k` towards 0 at sizes where it dominates, so compare lines "
           "over the same sizes, and trust the larger sizes' slope. The interval is the "
           "spread of every repeat around the line. The cells ran one after another: in a "
           "random order (`harness sweep`'s default; its seed is in sweep.json) a change in the "
           "machine's load lands on sizes at random and widens the interval; in the matrix's "
           "order (`--order matrix`: larger stores later) it can tilt a slope and no interval "
           "shows it.")


def sweep_report_md(sweep: Sweep, growth: tuple[SeriesGrowth, ...], metrics: tuple[str, ...],
                    plots: Iterable[str], max_chars: int = MAX_CHARS) -> str:
    """The sweep's report; `plots` are the image paths as the report links them."""
    level = next((f.level for line in growth for f in line.fits.values()), 0.95)
    head = [f"# Session store cost against store size: {sweep.folder.name}", "",
            _scope(sweep), ""]
    if sweep.missing:
        head += [f"> ⚠️ {len(sweep.missing)} cell(s) of the matrix have no figures: "
                 + ", ".join(name for name, _ in sweep.missing), ""]
    head += ["## Growth exponents", "", READING.format(level=level), "",
             exponents_table(sweep, growth, metrics), ""]
    head += ["## Figures by size (median across repeats)", "", figures_table(sweep, metrics),
             "", measures_note([(cell.name, cell.run) for cell in sweep.cells]), ""]
    head += ["## Plots", "", *(f"![{Path(name).name}]({name})" for name in plots), ""]
    details = [("Cells", cells_table(sweep))]
    return _fit(head, details, max_chars)


def _scope(sweep: Sweep) -> str:
    sizes = sorted({cell.size_kb for cell in sweep.cells})
    repeats = sorted({len(cell.run.measured) for cell in sweep.cells})
    cycles = sorted({cell.run.config.cycles for cell in sweep.cells})
    workloads = ", ".join(sweep.workloads)
    return (f"{len(sweep.cells)} cell(s) measured (shard {sweep.shard or '-'}): "
            f"{len({line for line, _ in sweep.series})} store line(s), sizes "
            f"{', '.join(map(str, sizes))} KB, workload {workloads}; "
            f"{_span(repeats)} repeat(s) of {_span(cycles)} cycle(s) per cell.")


def _span(values: list[int]) -> str:
    return str(values[0]) if len(values) == 1 else f"{values[0]}-{values[-1]}"


def _with_workload(sweep: Sweep) -> bool:
    """The workload column only where the sweep has that dimension (or a non-default one)."""
    return sweep.workloads != (DEFAULT_WORKLOAD,)


def exponents_table(sweep: Sweep, growth: tuple[SeriesGrowth, ...],
                    metrics: tuple[str, ...]) -> str:
    """A row per line, grouped by workload in the sweep's order (full, then entry): the
    designs one compares are those under the same workload."""
    workload = _with_workload(sweep)
    headers = ["store", *(["workload"] if workload else []),
               *(f"k of {BY_NAME[m].label}" for m in metrics), "sizes"]
    order = sweep.workloads
    lines = sorted(growth, key=lambda line: order.index(line.workload))  # stable: stores stay
    rows = [(line.series, *([line.workload] if workload else []),
             *(exponent_cell(line.fits[m]) for m in metrics),
             max(fit.sizes for fit in line.fits.values())) for line in lines]
    return markdown_table(headers, rows, align_right_from=2 if workload else 1)


def exponent_cell(fit: GrowthFit) -> str:
    if fit.exponent is None:
        return f"no fit: {fit.reason}"
    if fit.interval is None:
        return f"{k_text(fit.exponent)} (no interval from {fit.points} values)"
    return f"{k_text(fit.exponent)} [{k_text(fit.interval[0])}, {k_text(fit.interval[1])}]"


def figures_table(sweep: Sweep, metrics: tuple[str, ...]) -> str:
    """A row per cell, grouped by workload in the sweep's order, then by size, then store in
    the matrix's order (not by the workload's name: `entry` would come before `full`)."""
    workload = _with_workload(sweep)
    headers = ["store", *(["workload"] if workload else []), "size (KB)", "store file (MB)",
               *(f"{BY_NAME[m].label} ({BY_NAME[m].unit})" for m in metrics), "repeats"]
    cells = sorted(sweep.cells, key=lambda c: (sweep.workloads.index(c.workload), c.size_kb))
    return markdown_table(headers, [
        (cell.series, *([cell.workload] if workload else []), cell.size_kb,
         format_cell(cell.size_bytes / MB, 3), *_medians(cell, metrics),
         len(cell.run.measured)) for cell in cells], align_right_from=2 if workload else 1)


def _medians(cell: SweepCell, metrics: tuple[str, ...]) -> list[str]:
    summary = summarize(cell.run)
    return [format_cell(summary.get(m).median, 3 if BY_NAME[m].unit == "MB/cycle" else 2)
            for m in metrics]


def cells_table(sweep: Sweep) -> str:
    """Each cell's status and how it was measured (its run folder is the cell's name inside
    the sweep folder), then the matrix's cells that have no figures, and why."""
    rows = [(cell.name, cell.run.status, peak_phrase(cell.run.peak_method),
             str(cell.run.heap_measure), cell.run.runtime) for cell in sweep.cells]
    rows += [(name, f"no figures: {why}", "-", "-", "-") for name, why in sweep.missing]
    return markdown_table(("cell", "status", "peak RSS taken as", "heap measure", "runtime"),
                          rows, align_right_from=5)
