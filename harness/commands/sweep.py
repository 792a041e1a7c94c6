"""`harness sweep` runs a matrix (or one shard of it); `harness merge` joins the shards."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import click

from session_store_harness.commands.options import measurement_options
from session_store_harness.commands.run import build_config
from session_store_harness.errors import EXIT_FAILED, HarnessError
from session_store_harness.generating.profiles import PROFILES
from session_store_harness.measuring.sweep import (
    matrix,
    missing_cells,
    parse_shard,
    parse_sizes,
    shard,
)
from session_store_harness.stores import STORES
from session_store_harness.writers.folder import create_folder, write_text

SWEEP_FILE = "sweep.json"


@click.command()
@click.option("--sizes", required=True, help="Store sizes in KB, comma-separated.")
@click.option("--stores", required=True, help="Store names, comma-separated.")
@click.option("--reuse", type=click.Choice(["no", "yes", "both"]), default="both",
              show_default=True, help="Run cells with --reuse-loaded-store, without, or both.")
@click.option("--shard", "shard_text", default="1/1", show_default=True,
              help="Run only shard I of N (every N-th cell): one per CI job.")
@click.option("--profile", type=click.Choice(sorted(PROFILES)), default="realistic",
              show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@measurement_options
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="New folder; one sub-folder per cell.")
def sweep(sizes: str, stores: str, reuse: str, shard_text: str, output: Path,
          **values) -> None:
    """Run every cell of sizes x stores x reuse, or one shard of them."""
    names = [name.strip() for name in stores.split(",") if name.strip()]
    unknown = [name for name in names if name not in STORES]
    if unknown:
        raise HarnessError(f"unknown store(s) {', '.join(unknown)}; known: "
                           f"{', '.join(sorted(STORES))}")
    cells = matrix(parse_sizes(sizes), names, reuse)
    index, count = parse_shard(shard_text)
    mine = shard(cells, index, count)
    from session_store_harness.measuring.measure import measure

    configs = [build_config(store=cell.store, store_file=None, target_kb=cell.size_kb,
                            entries=None, reuse_loaded_store=cell.reuse, label=cell.name,
                            **values) for cell in mine]  # all checked before any runs
    folder = create_folder(output)
    write_text(folder / SWEEP_FILE, json.dumps({
        "schema_version": 1, "shard": f"{index}/{count}", "argv": sys.argv,
        "matrix": [cell.as_dict() for cell in cells],
        "cells": [cell.as_dict() for cell in mine]}, indent=2) + "\n")
    failed = []
    for number, (cell, config) in enumerate(zip(mine, configs, strict=True), start=1):
        click.echo(f"[sweep] {number}/{len(mine)}: {cell.name}", err=True)
        if measure(config, create_folder(folder / cell.name), tuple(sys.argv)).status \
                != "complete":
            failed.append(cell.name)
    click.echo(f"sweep: {len(mine) - len(failed)}/{len(mine)} cells complete in {folder}")
    if failed:
        raise HarnessError(f"cells failed: {', '.join(failed)}", EXIT_FAILED)


@click.command()
@click.argument("folders", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True)
def merge(folders: tuple[Path, ...], output: Path) -> None:
    """Join sweep shards into one folder with a sweep.csv of every cell's medians."""
    from session_store_harness.model.result_folder import load_run
    from session_store_harness.writers.sweep_csv import sweep_csv

    shards = [_read_sweep(folder) for folder in folders]
    cells: dict[str, Path] = {}
    for folder, info in zip(folders, shards, strict=True):
        for cell in info["cells"]:
            if cell["name"] in cells:
                raise HarnessError(f"cell {cell['name']} is in both {cells[cell['name']]} and "
                                   f"{folder}")
            cells[cell["name"]] = folder / cell["name"]
    expected = shards[0]["matrix"]
    if any(info["matrix"] != expected for info in shards):
        raise HarnessError("the shards come from different matrices")
    target = create_folder(output)
    for name, source in cells.items():
        shutil.copytree(source, target / name)
    write_text(target / SWEEP_FILE, json.dumps({
        "schema_version": 1, "shard": "merged", "matrix": expected,
        "cells": [c for c in expected if c["name"] in cells],
        "merged_from": [str(f) for f in folders]}, indent=2) + "\n")
    runs = {name: load_run(target / name) for name in cells}
    write_text(target / "sweep.csv", sweep_csv(expected, runs))
    missing = missing_cells(expected, set(cells))
    click.echo(f"merged {len(cells)} cell(s) into {target}")
    if missing:
        click.echo(f"warning: cells missing from the matrix: {', '.join(missing)}", err=True)


def _read_sweep(folder: Path) -> dict:
    try:
        return json.loads((folder / SWEEP_FILE).read_text())
    except FileNotFoundError:
        raise HarnessError(f"{folder}: not a sweep folder (no {SWEEP_FILE})") from None
    except ValueError as exc:
        raise HarnessError(f"{folder / SWEEP_FILE}: unreadable ({exc})") from None
