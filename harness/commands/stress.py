"""`harness stress`: concurrent writers and killed writers on a store, reported as figures."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

import click

from session_store_harness.commands.options import store_shape_options
from session_store_harness.errors import EXIT_FAILED, HarnessError
from session_store_harness.generating.generator import GenerateSpec, generate
from session_store_harness.stores import STORES


@click.command()
@click.option("--store", type=click.Choice(sorted(STORES)), required=True)
@click.option("--store-file", type=click.Path(path_type=Path),
              help="Stress a copy of this store instead of a generated one.")
@store_shape_options
@click.option("--writers", type=int, default=4, show_default=True)
@click.option("--updates", type=int, default=200, show_default=True,
              help="Updates per writer.")
@click.option("--reuse-loaded-store", is_flag=True,
              help="Writers load, then update with the loaded store as base snapshot.")
@click.option("--crash-trials", type=int, default=100, show_default=True,
              help="Writers killed with SIGKILL at seeded random points (0 skips).")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Write stress.json into this new folder.")
def stress(store: str, store_file: Path | None, profile: str, target_kb: int | None,
           entries: int | None, seed: int, writers: int, updates: int,
           reuse_loaded_store: bool, crash_trials: int, output: Path | None) -> None:
    """Lost updates, invalid reads, corrupt files and leftovers; exit 1 if any."""
    from session_store_harness.measuring.stress import concurrency, crashes
    from session_store_harness.writers.folder import create_folder, write_text

    for name, value, low, high in (("--writers", writers, 1, 64),
                                   ("--updates", updates, 1, 100_000),
                                   ("--crash-trials", crash_trials, 0, 100_000)):
        if not low <= value <= high:
            raise HarnessError(f"{name} must be between {low} and {high}, got {value}")
    folder = create_folder(output) if output else None
    with tempfile.TemporaryDirectory(prefix="harness-stress-") as scratch:
        path = Path(scratch) / "sessions.json"
        if store_file is not None:
            if not store_file.is_file():
                raise HarnessError(f"{store_file}: store file does not exist or is not a file")
            shutil.copyfile(store_file, path)
        else:
            generate(GenerateSpec(profile, seed, target_kb=target_kb or (
                None if entries else 100), entries=entries), path)
        result = concurrency(store, path, writers, updates, reuse_loaded_store)
        crash = crashes(store, path, crash_trials, seed, reuse=reuse_loaded_store) \
            if crash_trials else None
    click.echo(f"[stress] {store}{' + reuse' if reuse_loaded_store else ''}: "
               f"{result.attempted} updates by {writers} writers, {result.lost} lost; "
               f"{result.reads} reads during writes, {result.invalid_reads} invalid; "
               f"leftovers {len(result.leftovers)}"
               + (f"; writer failures {len(result.writer_failures)}"
                  if result.writer_failures else ""))
    if crash is not None:
        click.echo(f"[stress] {crash.trials} writers killed: {crash.corrupt} corrupt files, "
                   f"{crash.went_backwards} undone updates; left by the kills: "
                   f"{crash.left_by_kill['temp files']} temp files, "
                   f"{crash.left_by_kill['locks']} locks; left after the next writer: "
                   f"{crash.leftovers_after_next_write}")
    if folder is not None:
        write_text(folder / "stress.json", json.dumps({
            "store": store, "argv": sys.argv,
            "concurrency": {**asdict(result), "attempted": result.attempted,
                            "lost": result.lost},
            "crashes": asdict(crash) if crash else None}, indent=2) + "\n")
    if not result.ok or (crash is not None and not crash.ok):
        raise HarnessError("stress found lost updates, corrupt files or leftovers",
                           EXIT_FAILED)
