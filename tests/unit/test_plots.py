"""The comparison plots, read as matplotlib artists (not pixels) on runs with known figures."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from session_store_harness.judging.compare import Comparison, compare_runs
from session_store_harness.writers.plots import PLOTS, comparison_plots, draw
from tests.fakes import fake_run

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def comparison() -> Comparison:
    # GIVEN 3 repeats before (6 samples) and 2 after (4 samples), each repeat 1 MB apart
    before = fake_run("before", [100, 110, 120, 125, 128, 130], 50, 140, repeats=3, jitter=1)
    after = fake_run("after", [100, 105, 108, 110], 40, 115, repeats=2, jitter=1)
    return compare_runs(before, after)


def _legend_texts(figure: Figure) -> list[str]:
    legends = [*figure.legends, *(a.get_legend() for a in figure.axes if a.get_legend())]
    return [text.get_text() for legend in legends for text in legend.get_texts()]


def test_every_plot_is_a_png_of_sensible_size(comparison: Comparison, tmp_path: Path) -> None:
    plots = comparison_plots(comparison)
    assert set(plots) == set(PLOTS)
    for name, png in plots.items():
        assert png.startswith(PNG_SIGNATURE), name
        assert 10_000 < len(png) < 1_000_000, name
        (tmp_path / name).write_bytes(png)
        height, width = matplotlib.image.imread(tmp_path / name).shape[:2]
        assert width >= 600 and height >= 400, name


def test_rss_plot_shows_samples_as_points_with_range_and_peak(comparison: Comparison) -> None:
    axes = draw("rss_vs_cycle.png", comparison).axes[0]
    # THEN one marker per sampled cycle, per run: the samples, nothing in between
    points = [line for line in axes.lines if line.get_marker() not in (None, "None", "")]
    assert [len(line.get_xdata()) for line in points] == [6, 4]
    assert list(points[0].get_xdata()) == [0, 10, 20, 30, 40, 50]
    assert "points are samples" in axes.get_xlabel()
    # AND the band is the range across the repeats, said in the legend
    texts = _legend_texts(axes.figure)
    assert "before: range across 3 repeats (min..max)" in texts
    assert "after: range across 2 repeats (min..max)" in texts
    # AND the peak is a dashed line per run at the median of the repeats' peaks (140, 141, 142)
    peaks = [line for line in axes.lines if line.get_linestyle() == "--"]
    assert [line.get_ydata()[0] for line in peaks] == pytest.approx([141, 115.5])
    assert peaks[0].get_color() == points[0].get_markerfacecolor()
    assert "before: peak RSS (median of 3) 141.0 MB" in texts


def test_one_repeat_gets_no_band_and_says_so() -> None:
    comparison = compare_runs(fake_run("b", [100, 110], 50, 120), fake_run("a", [90, 95], 40, 99))
    rss, cycle_time = (draw(name, comparison) for name in ("rss_vs_cycle.png", "cycle_time.png"))
    for figure in (rss, cycle_time):
        assert not any(isinstance(c, PolyCollection) for c in figure.axes[0].collections)
        assert not any("range across" in text for text in _legend_texts(figure))
    assert "before: peak RSS (1 repeat) 120.0 MB" in _legend_texts(rss)
    assert "before: b, 1 repeat" in _legend_texts(rss)


def test_cycle_time_has_a_spread_band_per_multi_repeat_run(comparison: Comparison) -> None:
    axes = draw("cycle_time.png", comparison).axes[0]
    bands = [c for c in axes.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2
    assert [line.get_color() for line in axes.lines] == ["tab:blue", "tab:orange"]
    # the median line runs through every cycle: 50 cycles before, 30 after
    assert [len(line.get_xdata()) for line in axes.lines] == [50, 30]
    texts = _legend_texts(axes.figure)
    assert "before: range across 3 repeats (min..max)" in texts
    assert "before: before, median of 3" in texts


def test_timeline_draws_one_line_per_repeat_per_run(comparison: Comparison) -> None:
    axes = draw("rss_timeline.png", comparison).axes[0]
    lines = axes.lines
    assert len(lines) == 3 + 2
    assert [line.get_color() for line in lines] == ["tab:blue"] * 3 + ["tab:orange"] * 2
    # repeats are told apart by line style, the same style for the same repeat in both runs
    assert [line.get_linestyle() for line in lines] == ["-", "--", ":", "-", "--"]
    assert _legend_texts(axes.figure) == ["before: before, 3 repeats", "after: after, 2 repeats",
                                          "r1", "r2", "r3"]
