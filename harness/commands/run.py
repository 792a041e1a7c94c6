"""`harness run`: measure a store in a worker process and write a result folder.

Ctrl-C, SIGTERM and SIGHUP all end a run the same way: the worker's process group is killed,
the scratch copy removed, the partial results written with meta.json marked `interrupted`, and
the exit code is 130 for each of them (not 128 + the signal's number), the one code the exit
code table has for "interrupted, partial results kept".
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import click
from tqdm import tqdm

from session_store_harness.commands.options import (
    config_option,
    given_options,
    layout_options,
    measurement_options,
    store_option,
    store_shape_options,
)
from session_store_harness.errors import EXIT_FAILED, EXIT_INTERRUPTED, HarnessError
from session_store_harness.measuring.measure import measure, new_folder
from session_store_harness.model.config import RunConfig, run_config
from session_store_harness.model.run import Run
from session_store_harness.writers.console import run_report

STDERR_LINES_SHOWN = 5
EPILOG = ("\b\nExit codes:\n"
          "0: the run completed\n"
          "1: the run failed; or it could only be saved under TMPDIR (a full disk),\n"
          "   or summary.json could not be computed (every other file is kept)\n"
          "2: bad options or store; result or scratch folder (TMPDIR) not writable\n"
          "130: interrupted by Ctrl-C, SIGTERM or SIGHUP; partial results kept")


@contextlib.contextmanager
def _progress(config: RunConfig, enabled: bool | None) -> Iterator:
    disable = None if enabled is None else not enabled  # None: only on a terminal
    with tqdm(total=config.repeat * config.cycles, unit="cycle", file=sys.stderr,
              disable=disable, leave=False, dynamic_ncols=True) as bar:
        def on_cycle(repeat: int, cycle: int) -> None:
            bar.set_description(f"repeat {repeat}/{config.repeat}")
            bar.update((repeat - 1) * config.cycles + cycle - bar.n)
        yield on_cycle


@click.command(epilog=EPILOG)
@click.argument("name", required=False)
@config_option
@store_option
@click.option("--store-file", type=click.Path(path_type=Path),
              help="Measure a copy of this existing sessions.json instead of generating one.")
@store_shape_options
@click.option("--reuse-loaded-store", is_flag=True,
              help="Pass each cycle's loaded store to update() as its base snapshot.")
@measurement_options
@layout_options
@click.option("--label", default="",
              help="Result folder suffix (default: the store's name, or file and class).")
@click.option("--results-dir", type=click.Path(path_type=Path), default=Path("results"),
              show_default=True, help="Folder under which a new <timestamp>-<label> is made.")
@click.option("--run-dir", type=click.Path(path_type=Path),
              help="Exact result folder to create (must not exist).")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr (default: when stderr is a terminal).")
def run(name: str | None, config_file: Path | None, results_dir: Path, run_dir: Path | None,
        progress: bool | None, layout_seed: int | None, fixed_layout: bool, **values) -> None:
    """Run load/update cycles on a store in a measured worker; write CSVs and meta.json.

    NAME is a store named in the configuration ([tool.harness.stores.NAME]), else a store
    spec as --store takes; options given here override the file's."""
    from session_store_harness.settings.project_config import load_project
    from session_store_harness.settings.run_values import named_or_spec

    project = load_project(config_file)
    config = run_config(**named_or_spec(project, values, given_options(), name))
    folder = new_folder(run_dir) if run_dir else new_folder(results_dir, config.label)
    with _progress(config, progress) as on_cycle:
        result = measure(config, folder, tuple(sys.argv), on_cycle, layout_seed, fixed_layout)
    with contextlib.suppress(OSError):  # after SIGHUP the terminal may be gone: the folder is
        click.echo(run_report(result, str(folder)))  # what counts, and it is written
    if result.status != "complete":
        raise HarnessError(_failure(result), EXIT_INTERRUPTED if result.status == "interrupted"
                           else EXIT_FAILED)


def _failure(result: Run) -> str:
    last = result.repeats[-1] if result.repeats else None
    tail = last.worker.stderr_tail.strip().splitlines()[-STDERR_LINES_SHOWN:] if last else []
    shown = "".join(f"\n  worker stderr: {line}" for line in tail)
    return f"run {result.status}: {result.error} (partial results kept){shown}"
