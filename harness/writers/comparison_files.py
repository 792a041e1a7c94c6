"""A comparison's folder: its plots, comparison.json and report.md, written in one place for
`harness compare` and `harness ci` alike."""

from __future__ import annotations

from pathlib import Path

from session_store_harness.judging.compare import Comparison
from session_store_harness.writers.comparison_json import comparison_json
from session_store_harness.writers.folder import create_folder, write_bytes, write_text
from session_store_harness.writers.plots import comparison_plots
from session_store_harness.writers.report import comparison_report

REPORT = "report.md"


def write_comparison_folder(comparison: Comparison, output: Path) -> Path:
    """Create `output` (it must not exist) and write the comparison into it."""
    plots = comparison_plots(comparison)
    folder = create_folder(output)
    for name, png in plots.items():
        write_bytes(folder / name, png)
    write_text(folder / "comparison.json", comparison_json(comparison, folder))
    write_text(folder / REPORT, comparison_report(comparison, plots))
    return folder
