"""Any folder the harness writes, opened as its model: a run, an A/B pair (`harness ab`), a
comparison (`harness compare`, whose runs live elsewhere) or a sweep. For readers that take
whatever they are given (the analysis notebook); each kind is still read by its own module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from session_store_harness.errors import HarnessError
from session_store_harness.model.comparison_folder import (
    COMPARISON,
    is_comparison_folder,
    load_comparison_sources,
)
from session_store_harness.model.result_folder import META, load_run
from session_store_harness.model.run import Run
from session_store_harness.model.sweep_folder import Sweep, is_sweep_folder, load_sweep
from session_store_harness.writers.sweep_json import SWEEP_FILE

# measuring/ab.py's AB_FILE and sides; not imported, so reading a folder loads no measuring code
AB_FILE = "ab.json"
SIDES = ("before", "after")
Kind = Literal["run", "ab", "compare", "sweep"]


@dataclass(frozen=True)
class OpenedFolder:
    """A folder and what it holds: one run, a (before, after) pair, or a sweep."""

    folder: Path
    kind: Kind
    runs: tuple[Run, ...] = ()  # run: (run,); ab and compare: (before, after); sweep: ()
    sweep: Sweep | None = None

    @property
    def pair(self) -> tuple[Run, Run] | None:
        return (self.runs[0], self.runs[1]) if len(self.runs) == 2 else None


def open_folder(folder: Path) -> OpenedFolder:
    """Whatever the harness wrote in `folder`; anything else is a one-line error."""
    if not folder.is_dir():
        raise HarnessError(f"{folder}: not a folder")
    if (folder / META).is_file():
        return OpenedFolder(folder, "run", (load_run(folder),))
    if is_comparison_folder(folder):
        before, after = load_comparison_sources(folder)
        return OpenedFolder(folder, "compare", (load_run(before), load_run(after)))
    if (folder / AB_FILE).is_file():
        return OpenedFolder(folder, "ab", tuple(load_run(folder / side) for side in SIDES))
    if is_sweep_folder(folder):
        return OpenedFolder(folder, "sweep", sweep=load_sweep(folder))
    raise HarnessError(f"{folder}: not a run, ab, compare or sweep folder (no {META}, "
                       f"{COMPARISON}, {AB_FILE} or {SWEEP_FILE})")
