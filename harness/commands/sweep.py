"""`harness sweep` runs a matrix (or one shard of it); `harness merge` joins the shards."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from session_store_harness.commands.options import measurement_options, worker_options
from session_store_harness.errors import EXIT_FAILED, EXIT_INTERRUPTED, HarnessError
from session_store_harness.generating.profiles import PROFILES
from session_store_harness.measuring.sweep import (
    ORDERS,
    cell_runs,
    matrix,
    merge_shards,
    parse_shard,
    parse_sizes,
    run_order,
    shard,
)
from session_store_harness.model.config import parse_workloads, run_config, store_options
from session_store_harness.settings.run_values import WORKER_KEYS
from session_store_harness.stores import STORES
from session_store_harness.writers.folder import write_text
from session_store_harness.writers.sweep_json import SWEEP_FILE, sweep_json


@click.command()
@click.option("--sizes", required=True, help="Store sizes in KB, comma-separated.")
@click.option("--stores", required=True,
              help="Stores, comma-separated, each as --store takes it (a built-in such as "
              f"{', '.join(sorted(STORES))}, an entry point, module:Class, file.py:Class, a Node "
              "module; with --worker-cmd, the names passed to the program).")
@click.option("--reuse", type=click.Choice(["no", "yes", "both"]), default="both",
              show_default=True, help="Run cells with --reuse-loaded-store, without, or both.")
@click.option("--shard", "shard_text", default="1/1", show_default=True,
              help="Run only shard I of N (every N-th cell): one per CI job.")
@click.option("--profile", type=click.Choice(sorted(PROFILES)), default="realistic",
              show_default=True, help="Entry shape of the generated stores.")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Same seed and arguments give byte-identical stores.")
@worker_options
@measurement_options
@click.option("--order", type=click.Choice(ORDERS), default="random", show_default=True,
              help="Run the cells in a seeded random order (a change in the machine's load "
              "then lands on sizes at random), or in the matrix's (sizes one after another).")
@click.option("--order-seed", type=int,
              help="Seed of --order random (default: random, recorded in sweep.json).")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="New folder; one sub-folder per cell.")
def sweep(sizes: str, stores: str, reuse: str, shard_text: str, output: Path, workload: str,
          order: str, order_seed: int | None, **values) -> None:
    """Run every cell of sizes x stores x workload x reuse, or one shard of them."""
    from session_store_harness.measuring.measure import measure, new_folder, resolve_order_seed
    from session_store_harness.writers.sweep_csv import sweep_csv

    names = [name.strip() for name in stores.split(",") if name.strip()]
    worker = {key: values[key] for key in WORKER_KEYS}
    slugs = {name: store_options(name, **worker)["store_spec"].slug for name in names}
    cells = matrix(parse_sizes(sizes), names, reuse, slugs, parse_workloads(workload))
    index, count = parse_shard(shard_text)
    mine = shard(cells, index, count)
    # all checked before any runs
    configs = [run_config(store=cell.store, store_file=None, target_kb=cell.size_kb,
                          entries=None, reuse_loaded_store=cell.reuse, label=cell.name,
                          workload=cell.workload, **values) for cell in mine]
    seed = resolve_order_seed(order, order_seed)
    ran = run_order(list(zip(mine, configs, strict=True)), order, seed)
    folder = new_folder(output)
    write_text(folder / SWEEP_FILE, sweep_json(
        f"{index}/{count}", [c.as_dict() for c in cells], [c.as_dict() for c in mine], sys.argv,
        run_order={"order": order, "seed": seed,
                   "cells": [cell.name for cell, _ in ran]}))
    failed = []
    for number, (cell, config) in enumerate(ran, start=1):
        click.echo(f"[sweep] {number}/{len(mine)}: {cell.name}", err=True)
        result = measure(config, new_folder(folder / cell.name), tuple(sys.argv))
        if result.status == "interrupted":  # Ctrl-C, SIGTERM, SIGHUP: stop, don't start the next
            raise HarnessError(f"sweep interrupted at {cell.name}: {result.error} (cells done "
                               f"so far kept in {folder})", EXIT_INTERRUPTED)
        if not result.complete:
            failed.append(cell.name)
    # this shard's cells, one row each with its workload; `harness merge` writes the whole
    write_text(folder / "sweep.csv", sweep_csv([c.as_dict() for c in mine],
                                               cell_runs(folder, [c.name for c in mine])))
    click.echo(f"sweep: {len(mine) - len(failed)}/{len(mine)} cells complete in {folder}")
    if failed:
        raise HarnessError(f"cells failed: {', '.join(failed)}", EXIT_FAILED)


@click.command()
@click.argument("folders", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="New folder for the merged cells, sweep.json and sweep.csv.")
def merge(folders: tuple[Path, ...], output: Path) -> None:
    """Join sweep shards into one folder with a sweep.csv of every cell's medians."""
    from session_store_harness.model.result_folder import load_run
    from session_store_harness.writers.sweep_csv import sweep_csv

    merged = merge_shards(list(folders), output)
    runs = {name: load_run(folder) for name, folder in merged.cells.items()}
    write_text(merged.folder / "sweep.csv", sweep_csv(merged.matrix, runs))
    click.echo(f"merged {len(merged.cells)} cell(s) into {merged.folder}")
    if merged.missing:
        click.echo(f"warning: cells missing from the matrix: {', '.join(merged.missing)}",
                   err=True)
