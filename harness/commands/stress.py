"""`harness stress`: concurrent writers and killed writers on a store, reported as figures."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from session_store_harness.commands.options import store_option, store_shape_options
from session_store_harness.errors import EXIT_FAILED, HarnessError
from session_store_harness.measuring.stress import StressConfig, stress_store
from session_store_harness.model.config import generate_spec, store_options
from session_store_harness.writers.folder import optional_result_folder, write_text
from session_store_harness.writers.stress_json import stress_json
from session_store_harness.writers.stress_text import stress_lines


@click.command()
@store_option
@click.option("--store-file", type=click.Path(path_type=Path),
              help="Stress a copy of this store instead of a generated one.")
@store_shape_options
@click.option("--writers", type=int, default=4, show_default=True,
              help="Writer processes updating the store at once.")
@click.option("--updates", type=int, default=200, show_default=True,
              help="Updates per writer.")
@click.option("--reuse-loaded-store", is_flag=True,
              help="Writers load, then update with the loaded store as base snapshot.")
@click.option("--crash-trials", type=int, default=100, show_default=True,
              help="Writers killed with SIGKILL at seeded random points (0 skips).")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Write stress.json into this new folder.")
def stress(store: str | None, runtime: str | None, worker_cmd: str | None,
           node_args: tuple[str, ...], python_path: tuple[str, ...], store_file: Path | None,
           profile: str, target_kb: int | None, entries: int | None, seed: int,
           output: Path | None, **counts: int) -> None:
    """Lost updates, lock timeouts, invalid reads, corrupt files and leftovers; exit 1 if any.

    The writers run a built-in, a Python class or a Node module (not a --worker-cmd program)."""
    chosen = store_options(store, runtime, worker_cmd, node_args, python_path)
    config = StressConfig(store_file=store_file, seed=seed,
                          generate=None if store_file else generate_spec(
                              "stress", profile, seed, target_kb, entries), **chosen, **counts)
    with optional_result_folder(output) as folder:
        report = stress_store(config, tuple(sys.argv))
    click.echo("\n".join(stress_lines(report)))
    if folder is not None:
        write_text(folder / "stress.json", stress_json(report))
    if not report.ok:
        raise HarnessError(f"stress found {', '.join(report.problems())}", EXIT_FAILED)
