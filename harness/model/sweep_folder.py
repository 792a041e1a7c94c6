"""A sweep folder (`harness sweep`, a shard of one, or `harness merge`'s), read by this module.

Layout: `sweep.json` (the whole matrix, the cells this folder holds, where they came from) and
one run folder per cell, named by the cell. `sweep.csv` (merged folders only) is derived from the
runs and never read back: the runs stay the one source, as for a run's own `summary.json`.

A cell's workload (`full`: load the whole store then update one entry; `entry`: read and update
one entry) is its `workload` field where the sweep has that dimension; a sweep without one ran
the full cycle, and reads as `full`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from session_store_harness.errors import HarnessError
from session_store_harness.model.result_folder import META, load_run
from session_store_harness.model.run import Run
from session_store_harness.writers.sweep_json import SWEEP_FILE

DEFAULT_WORKLOAD = "full"


@dataclass(frozen=True)
class SweepCell:
    """One cell of the matrix and, where this folder holds it measured, its run."""

    name: str
    size_kb: int  # the size asked for; the run's store file has its exact size
    store: str  # the store's name in the cell's folder name (its slug), else as written
    reuse: bool
    workload: str
    run: Run

    @property
    def series(self) -> str:
        """The line this cell belongs to: one per store (and reuse) and workload."""
        return self.store + ("+reuse" if self.reuse else "")

    @property
    def size_bytes(self) -> int:
        return self.run.store.size_bytes


@dataclass(frozen=True)
class Sweep:
    """A sweep folder: its matrix, the cells measured, and the matrix's cells it lacks."""

    folder: Path
    shard: str
    matrix: tuple[dict[str, Any], ...]
    cells: tuple[SweepCell, ...]
    missing: tuple[tuple[str, str], ...]  # (cell name, why it has no figures)

    @property
    def workloads(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(cell.workload for cell in self.cells))

    @property
    def series(self) -> tuple[tuple[str, str], ...]:
        """(series, workload) pairs, in matrix order."""
        return tuple(dict.fromkeys((cell.series, cell.workload) for cell in self.cells))

    def cells_of(self, series: str, workload: str) -> tuple[SweepCell, ...]:
        return tuple(c for c in self.cells if c.series == series and c.workload == workload)


def is_sweep_folder(folder: Path) -> bool:
    return (folder / SWEEP_FILE).is_file()


def read_sweep_file(folder: Path) -> dict[str, Any]:
    """`sweep.json` as a dict with `matrix` and `cells` lists; anything else is one line."""
    path = folder / SWEEP_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise HarnessError(f"{folder}: not a sweep folder (no {SWEEP_FILE})") from None
    except (OSError, ValueError) as exc:
        raise HarnessError(f"{path}: unreadable ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("matrix"), list) \
            or not isinstance(data.get("cells"), list):
        raise HarnessError(f"{path}: not a sweep file (matrix and cells lists)")
    return data


def load_sweep(folder: Path) -> Sweep:
    """The sweep in `folder` with every cell it holds loaded as a run; a cell whose run did not
    finish writing (no meta.json) or measured nothing is listed as missing, with why."""
    data = read_sweep_file(folder)
    listed = {_text(cell, "name", folder): cell for cell in data["cells"]}
    cells, missing = [], []
    for raw in data["matrix"]:
        name = _text(raw, "name", folder)
        if name not in listed:
            missing.append((name, "not in this folder (another shard?)"))
            continue
        run, why = _cell_run(folder / name)
        if run is None:
            missing.append((name, why))
        else:
            cells.append(_cell(raw, run, folder))
    if not cells:
        raise HarnessError(f"{folder}: sweep has no measured cell")
    return Sweep(folder, str(data.get("shard", "")), tuple(data["matrix"]), tuple(cells),
                 tuple(missing))


def _cell_run(cell_folder: Path) -> tuple[Run | None, str]:
    if not (cell_folder / META).is_file():
        return None, f"no {META} (not run, or stopped before it finished)"
    try:
        return load_run(cell_folder), ""
    except HarnessError as exc:
        return None, str(exc)


def _cell(raw: dict[str, Any], run: Run, folder: Path) -> SweepCell:
    try:
        size_kb, reuse = int(raw["size_kb"]), bool(raw["reuse"])
    except (KeyError, TypeError, ValueError):
        raise HarnessError(f"{folder / SWEEP_FILE}: cell {raw.get('name')!r} lacks a size_kb "
                           f"or reuse") from None
    workload = raw.get("workload") or getattr(run.config, "workload", None) or DEFAULT_WORKLOAD
    return SweepCell(name=_text(raw, "name", folder), size_kb=size_kb,
                     store=str(raw.get("slug") or raw.get("store")), reuse=reuse,
                     workload=str(workload), run=run)


def _text(raw: object, key: str, folder: Path) -> str:
    if not isinstance(raw, dict) or not isinstance(raw.get(key), str):
        raise HarnessError(f"{folder / SWEEP_FILE}: a cell without a {key}")
    return raw[key]
