"""Charts as Mermaid text: GitHub draws a ```mermaid block in comments, step summaries and
Markdown files, where a PNG linked from an artifact renders nowhere.

Mermaid's xychart has no legend, so each chart's series are named in a line under it, by the
colour the palette gives them in order.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

# Two colours that stay apart for the common colour-vision deficiencies (Okabe-Ito blue and
# vermillion), then more of the same palette for a third or fourth series.
PALETTE = (("blue", "#0072B2"), ("orange", "#D55E00"), ("green", "#009E73"),
           ("purple", "#CC79A7"))
MAX_POINTS = 40  # a chart of 40 points reads; the text table under it holds the rest


@dataclass(frozen=True)
class Series:
    """One line of a chart: its name and a value per x label (None: no value there)."""

    name: str
    values: Sequence[float | None]


def line_chart(title: str, x_title: str, x_labels: Sequence[str], y_title: str,
               series: Sequence[Series]) -> str:
    """A fenced Mermaid xychart with one line per series, and the legend under it.

    Points are thinned evenly to MAX_POINTS (first and last kept); a missing value is drawn
    as its neighbour's, since xychart cannot leave a gap, and the legend says so."""
    if not series or not x_labels:
        return ""
    if len(series) > len(PALETTE):
        raise ValueError(f"at most {len(PALETTE)} series in one chart")
    keep = _thinned(len(x_labels))
    labels = [x_labels[i] for i in keep]
    lines = [[s.values[i] for i in keep] for s in series]
    low, high, decimals = axis_range([v for line in lines for v in line if v is not None])
    colours = ", ".join(code for _, code in PALETTE[:len(series)])
    init = {"themeVariables": {"xyChart": {"plotColorPalette": colours}}}
    body = [f"%%{{init: {json.dumps(init)}}}%%", "xychart-beta",
            f"    title {_quote(title)}",
            f"    x-axis {_quote(x_title)} [{', '.join(_quote(x) for x in labels)}]",
            f"    y-axis {_quote(y_title)} {number(low, decimals)} --> "
            f"{number(high, decimals)}"]
    body += [f"    line [{', '.join(number(v, decimals + 1) for v in _filled(line, low))}]"
             for line in lines]
    legend = ", ".join(f"{colour}: {s.name}"
                       for (colour, _), s in zip(PALETTE, series, strict=False))
    notes = [f"thinned to {len(keep)} of {len(x_labels)} points"] if len(keep) < len(x_labels) \
        else []
    if any(v is None for line in lines for v in line):
        notes.append("a missing value is drawn at its neighbour's (a line with none: at the "
                     "axis' bottom)")
    tail = f" ({'; '.join(notes)})" if notes else ""
    return "```mermaid\n" + "\n".join(body) + "\n```\n\n" + f"_{legend}{tail}_"


def _thinned(count: int) -> list[int]:
    if count <= MAX_POINTS:
        return list(range(count))
    step = (count - 1) / (MAX_POINTS - 1)
    return sorted({round(i * step) for i in range(MAX_POINTS)})


def axis_range(values: Sequence[float]) -> tuple[float, float, int]:
    """An axis from a round number under the lowest value to one over the highest (a range
    starting at zero would flatten a 2% change into a straight line), and the decimals that
    tell its ends and steps apart."""
    if not values:
        return 0.0, 1.0, 1
    low, high = min(values), max(values)
    span = high - low or max(abs(high), 1.0) * 0.1
    step = 10 ** math.floor(math.log10(span / 2))
    bottom = math.floor((low - span * 0.05) / step) * step
    top = math.ceil((high + span * 0.05) / step) * step
    return bottom, top, max(0, -math.floor(math.log10(step))) + 1


def number(value: float, decimals: int) -> str:
    """Fixed-point, never an exponent (`1e+06` is not a number to every Mermaid version), and
    no `-0`."""
    text = f"{value:.{decimals}f}"
    return "0" if float(text) == 0 else text


def _filled(values: Sequence[float | None], bottom: float) -> list[float]:
    known = [v for v in values if v is not None]
    if not known:
        return [bottom] * len(values)
    out: list[float] = []
    last = known[0]
    for value in values:
        last = value if value is not None else last
        out.append(last)
    return out


def _quote(text: str) -> str:
    # a double quote cannot be escaped inside a Mermaid string: use the typographic one
    return '"' + text.replace('"', "”") + '"'
