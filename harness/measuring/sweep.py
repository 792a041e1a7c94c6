"""A matrix of runs (sizes x stores x reuse x workload), its shards for CI jobs, and merging shards.

The matrix and shard arithmetic are pure; `merge_shards` reads shard folders (`sweep.json`) and
copies their cells into one new folder.
"""

from __future__ import annotations

import itertools
import random
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from session_store_harness.errors import HarnessError
from session_store_harness.model.run import Run
from session_store_harness.worker.protocol import DEFAULT_WORKLOAD
from session_store_harness.writers.folder import create_folder, write_text
from session_store_harness.writers.sweep_json import SWEEP_FILE, sweep_json

REUSE_CHOICES = {"no": (False,), "yes": (True,), "both": (False, True)}


@dataclass(frozen=True, order=True)
class Cell:
    """One run of the matrix."""

    size_kb: int
    store: str  # as written: a built-in's name, module:Class, a path...
    reuse: bool
    slug: str = ""  # the store's name in folder names (`StoreSpec.slug`); "": `store` itself
    # full or entry (`--workload`); a sweep.json written before workloads holds full cells
    workload: str = DEFAULT_WORKLOAD

    @property
    def name(self) -> str:
        # a full cell keeps the name it had before workloads existed, so shards of old and
        # new harnesses still name the same cells alike
        entry = "" if self.workload == DEFAULT_WORKLOAD else f"-{self.workload}"
        return f"{self.slug or self.store}{'-reuse' if self.reuse else ''}{entry}-{self.size_kb}kb"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "name": self.name}


def matrix(sizes_kb: list[int], stores: list[str], reuse: str,
           slugs: dict[str, str] | None = None,
           workloads: tuple[str, ...] = (DEFAULT_WORKLOAD,)) -> list[Cell]:
    """Every cell, in a fixed order so every shard of every CI job agrees on it; `slugs`
    names each store in the cells' folder names (default: the store as written). An entry
    workload cell never reuses a loaded store: it loads none (`RunConfig`)."""
    if reuse not in REUSE_CHOICES:
        raise HarnessError(f"--reuse must be one of {', '.join(REUSE_CHOICES)}, got {reuse!r}")
    if not sizes_kb or not stores:
        raise HarnessError("a sweep needs at least one size and one store")
    slugs = slugs or {}
    named: dict[str, str] = {}
    for store in stores:
        other = named.setdefault(slugs.get(store, store), store)
        if other != store:
            raise HarnessError(f"stores {other!r} and {store!r} would share the cell name "
                               f"{slugs.get(store, store)!r}: give them different names")
    cells = [Cell(size, store, flag, slugs.get(store, ""), workload)
             for size, store, workload, flag in itertools.product(
                 sorted(set(sizes_kb)), stores, workloads, REUSE_CHOICES[reuse])]
    usable = [cell for cell in cells if not (cell.reuse and cell.workload != DEFAULT_WORKLOAD)]
    if not usable:
        raise HarnessError("--reuse yes with --workload entry leaves no cell: an entry cycle "
                           "loads no whole store to reuse")
    return usable


ORDERS = ("random", "matrix")
Item = TypeVar("Item")


def run_order(cells: list[Item], order: str, seed: int | None) -> list[Item]:
    """The order the cells run in. In the matrix's order the sizes run one after another,
    smallest first, so a change in the machine's load during the sweep tilts every slope;
    in a seeded random order it lands on sizes at random, as noise the fit's residuals (and so
    its interval) take in."""
    if order == "matrix":
        return list(cells)
    if order != "random":
        raise HarnessError(f"--order must be one of {', '.join(ORDERS)}, got {order!r}")
    return random.Random(seed).sample(cells, len(cells))


def parse_shard(text: str) -> tuple[int, int]:
    """`I/N`, 1-based: shard I of N."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise HarnessError(f"--shard takes I/N such as 2/4, got {text!r}")
    index, count = int(match.group(1)), int(match.group(2))
    if not 1 <= index <= count:
        raise HarnessError(f"--shard {text}: I must be between 1 and N")
    return index, count


def shard(cells: list[Cell], index: int, count: int) -> list[Cell]:
    """Every N-th cell starting at the I-th: the N shards split the matrix exactly."""
    return cells[index - 1::count]


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise HarnessError(f"--sizes takes KB figures separated by commas, got {text!r}") from None
    if not sizes or any(size <= 0 for size in sizes):
        raise HarnessError(f"--sizes must be positive KB figures, got {text!r}")
    return sizes


def missing_cells(expected: list[dict[str, Any]], present: set[str]) -> list[str]:
    return [cell["name"] for cell in expected if cell["name"] not in present]


@dataclass(frozen=True)
class Merged:
    """A merged sweep folder: its matrix, the cells found, and those still missing."""

    folder: Path
    matrix: list[dict[str, Any]]
    cells: dict[str, Path]  # cell name -> its folder inside `folder`

    @property
    def missing(self) -> list[str]:
        return missing_cells(self.matrix, set(self.cells))


def merge_shards(shards: list[Path], output: Path) -> Merged:
    """Copy every shard's cells into the new folder `output` and write its sweep.json."""
    infos = [read_sweep(folder) for folder in shards]
    sources = _cell_sources(shards, infos)
    matrix = infos[0]["matrix"]
    if any(info["matrix"] != matrix for info in infos):
        raise HarnessError("the shards come from different matrices")
    target = create_folder(output)
    for name, source in sources.items():
        shutil.copytree(source, target / name)
    write_text(target / SWEEP_FILE, sweep_json(
        "merged", matrix, [c for c in matrix if c["name"] in sources],
        merged_from=[str(f) for f in shards]))
    return Merged(target, matrix, {name: target / name for name in sources})


def _cell_sources(shards: list[Path], infos: list[dict[str, Any]]) -> dict[str, Path]:
    sources: dict[str, Path] = {}
    for folder, info in zip(shards, infos, strict=True):
        for cell in info["cells"]:
            if cell["name"] in sources:
                raise HarnessError(f"cell {cell['name']} is in both {sources[cell['name']]} "
                                   f"and {folder}")
            sources[cell["name"]] = folder / cell["name"]
    return sources


def cell_runs(folder: Path, names: list[str]) -> dict[str, Run]:
    """The runs of the named cells in a sweep folder that measured something: a cell that
    failed before its first sample, or never ran, has no row to give."""
    from session_store_harness.model.result_folder import load_run

    runs = {}
    for name in names:
        try:
            runs[name] = load_run(folder / name)
        except HarnessError:
            continue
    return runs


def read_sweep(folder: Path) -> dict[str, Any]:
    """`sweep.json`, checked as `model/sweep_folder.py` reads it (the one reader of the file;
    imported here, not at start-up: it loads the result folder's reader)."""
    from session_store_harness.model.sweep_folder import read_sweep_file

    return read_sweep_file(folder)
