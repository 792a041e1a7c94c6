"""`harness bench`: pyperf timings of cold load, warm load and update, per store."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import click

from session_store_harness.commands.options import store_shape_options
from session_store_harness.errors import EXIT_FAILED, HarnessError
from session_store_harness.generating.generator import generate
from session_store_harness.measuring.processes import python_module
from session_store_harness.model.config import store_spec
from session_store_harness.stores import STORES


@click.command()
@click.option("--store", type=click.Choice(sorted(STORES)), required=True,
              help="Store implementation to time.")
@store_shape_options
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="pyperf JSON file to write (must not exist).")
@click.option("--fast", is_flag=True, help="pyperf --fast: fewer processes and values.")
def bench(store: str, profile: str, target_kb: int | None, entries: int | None, seed: int,
          output: Path, fast: bool) -> None:
    """Time single store operations with pyperf; read the file with `pyperf compare_to`."""
    if output.exists():
        raise HarnessError(f"{output}: already exists; results are never overwritten")
    spec = store_spec("bench", profile, seed, target_kb, entries)
    with tempfile.TemporaryDirectory(prefix="harness-bench-") as scratch:
        store_file = Path(scratch) / "sessions.json"
        generate(spec, store_file)
        command = python_module("session_store_harness.measuring.bench_ops", "--store", store,
                                "--store-file", str(store_file), "-o", str(output), "--quiet")
        if fast:
            command.append("--fast")
        if subprocess.run(command).returncode != 0:
            raise HarnessError("pyperf benchmark failed (see its output above)", EXIT_FAILED)
    click.echo(f"pyperf results: {output}")
