"""Write a `Run` into its result folder: CSVs first, meta.json last, each file atomically.

meta.json is written last so that a folder with a complete meta.json has complete CSVs.
"""

from __future__ import annotations

from pathlib import Path

from harness.records import Run
from harness.writers.csv_files import cycles_csv, samples_csv, timeline_csv
from harness.writers.folder import write_text
from harness.writers.meta import meta_json


def write_run(run: Run, folder: Path) -> None:
    write_text(folder / "samples.csv", samples_csv(run))
    write_text(folder / "cycles.csv", cycles_csv(run))
    write_text(folder / "timeline.csv", timeline_csv(run))
    for index, repeat in enumerate(run.repeats, start=1):
        if repeat.worker.stderr_tail:
            write_text(folder / f"worker-{index}-stderr.txt", repeat.worker.stderr_tail)
    write_text(folder / "meta.json", meta_json(run))
