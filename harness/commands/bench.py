"""`harness bench`: pyperf timings of cold load, warm load and update, per store.

pyperf times Python calls: a built-in, an entry point or a user's Python class. A Node module or
a --worker-cmd program is refused in one line (`harness run` measures those).
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any

import click

from session_store_harness.commands.options import store_option, store_shape_options
from session_store_harness.errors import EXIT_FAILED, HarnessError
from session_store_harness.generating.generator import generate
from session_store_harness.measuring.preflight import check_loadable
from session_store_harness.measuring.processes import python_module
from session_store_harness.model.config import generate_spec, parse_workloads
from session_store_harness.model.store_spec import StoreSpec, parse_store_spec
from session_store_harness.writers.folder import write_bytes

PYPERF_OUTPUT = "bench.json"  # pyperf's own file, in the private scratch folder


@click.command()
@store_option
@store_shape_options
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="pyperf JSON file to write (must not exist).")
@click.option("--fast", is_flag=True, help="pyperf --fast: fewer processes and values.")
@click.option("--workload", default="full,entry", show_default=True,
              help="Which operations to time: full (cold-load, warm-load, update, "
              "update-with-base), entry (get, update-entry: the store's own get/update_entry, "
              "or the fallback over load/update), or both, comma-separated.")
def bench(profile: str, target_kb: int | None, entries: int | None, seed: int,
          output: Path, fast: bool, workload: str, **store: Any) -> None:
    """Time single store operations with pyperf; read the file with `pyperf compare_to`."""
    workloads = parse_workloads(workload)
    chosen = parse_store_spec(**store)
    if chosen.runtime != "python":
        raise HarnessError(f"bench times Python stores with pyperf; {chosen.describe()} is "
                           "not one (harness run measures it)")
    _refuse_existing(output)
    check_loadable(chosen)
    spec = generate_spec("bench", profile, seed, target_kb, entries)
    # mkdtemp's folder is 0700: pyperf opens its -o with the umask's mode and follows links, so
    # it writes only here, and the harness's own writer puts the result in place.
    with tempfile.TemporaryDirectory(prefix="harness-bench-") as scratch:
        store_file = Path(scratch) / "sessions.json"
        generate(spec, store_file)
        timings = Path(scratch) / PYPERF_OUTPUT
        _run_pyperf(chosen, store_file, timings, fast, workloads)
        _refuse_existing(output)  # the benchmark takes minutes: check again before writing
        write_bytes(output, timings.read_bytes())
    click.echo(f"pyperf results: {output}")


def _refuse_existing(output: Path) -> None:
    # is_symlink first: exists() follows a link and calls a dangling one absent
    if output.is_symlink():
        raise HarnessError(f"{output}: is a symbolic link; not writing through it")
    if output.exists():
        raise HarnessError(f"{output}: already exists; results are never overwritten")
    if not output.parent.is_dir():  # found now, not after the benchmark's minutes
        raise HarnessError(f"{output.parent}: no such folder")


def _run_pyperf(store: StoreSpec, store_file: Path, timings: Path, fast: bool,
                workloads: tuple[str, ...]) -> None:
    folders = [arg for folder in store.python_path for arg in ("--python-path", folder)]
    command = python_module("session_store_harness.measuring.bench_ops", "--store",
                            store.target, *folders, "--store-file", str(store_file),
                            "--workload", ",".join(workloads), "-o", str(timings), "--quiet")
    if fast:
        command.append("--fast")
    if subprocess.run(command).returncode != 0:
        raise HarnessError("pyperf benchmark failed (see its output above)", EXIT_FAILED)
