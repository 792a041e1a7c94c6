"""Tables as aligned text or Markdown: the one table helper every writer shares."""

from __future__ import annotations

from collections.abc import Sequence

Cell = str | int | float | None


def format_cell(value: Cell, decimals: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{decimals}f}".replace(",", "")
    return str(value)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    """Right-aligned columns, as a terminal shows them."""
    cells = [list(headers), *([format_cell(v) for v in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True))
                     for row in cells)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Cell]],
                   align_right_from: int = 1) -> str:
    """A GitHub Markdown table; columns from `align_right_from` on are right-aligned."""
    marks = ["---:" if i >= align_right_from else "---" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(format_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
