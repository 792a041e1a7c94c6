"""Options shared by commands that make, name or measure a store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
from click.core import ParameterSource

from session_store_harness.generating.profiles import PROFILES
from session_store_harness.model.config import DEFAULT_TARGET_KB
from session_store_harness.model.store_spec import ENTRY_POINT_GROUP, RUNTIMES
from session_store_harness.stores import STORES
from session_store_harness.worker.heap import METERS
from session_store_harness.worker.protocol import DEFAULT_TOUCH_FIELDS, DEFAULT_WORKLOAD, WORKLOADS

STORE_HELP = (f"Store under test: a built-in ({', '.join(sorted(STORES))}), a name "
              f"registered under the entry-point group {ENTRY_POINT_GROUP}, package.module:Class, "
              "path/to/file.py:Class, or a Node module (.mjs, .js, .cjs, .ts, .mts) exporting "
              "createStore(path, env); see docs/store-interface.md.")


def store_option(command: Callable) -> Callable:
    """--store SPEC, and how it is run (`worker_options`)."""
    return click.option("--store", help=STORE_HELP)(worker_options(command))


def worker_options(command: Callable) -> Callable:
    """Which worker runs the store: --runtime, --worker-cmd, --node-arg, --python-path."""
    for option in reversed((
        click.option("--runtime", type=click.Choice(RUNTIMES),
                     help="The harness worker that runs the store (default: node for a "
                     ".mjs/.js/.cjs/.ts/.mts path, else python)."),
        click.option("--worker-cmd",
                     help="Run this program instead of the harness's worker: 'CMD ARGS', split "
                     "as a shell would (no shell runs it); it must speak "
                     "docs/worker-protocol.md, whose arguments are appended (--store is "
                     "passed through, 'default' if none)."),
        click.option("--node-arg", "node_args", multiple=True, metavar="ARG",
                     help="Option for node before the worker script (repeatable), e.g. "
                     "--node-arg=--import=tsx for a TypeScript store."),
        click.option("--python-path", "python_path", multiple=True, metavar="DIR",
                     help="Folder the Python worker appends to sys.path after its own "
                     "(repeatable); the current folder always is, for module:Class."),
    )):
        command = option(command)
    return command


def config_option(command: Callable) -> Callable:
    """--config: the project's configuration file (default: found from the current folder)."""
    return click.option(
        "--config", "config_file", type=click.Path(path_type=Path),
        help="harness.toml, or pyproject.toml with [tool.harness] (default: the nearest one "
        "from the current folder up to the repository's root).")(command)


def given_options() -> set[str]:
    """The current command's options the user gave (not click's defaults): only these
    override the configuration file."""
    context = click.get_current_context()
    return {name for name in context.params
            if context.get_parameter_source(name) not in (ParameterSource.DEFAULT,
                                                          ParameterSource.DEFAULT_MAP, None)}


def store_shape_options(command: Callable) -> Callable:
    for option in reversed((
        click.option("--profile", type=click.Choice(sorted(PROFILES)), default="realistic",
                     show_default=True, help="Entry shape (see README)."),
        click.option("--target-kb", type=int,
                     help="Store size in KiB (1 KB = 1024 bytes); default by command: "
                     + ", ".join(f"{k} {v}" for k, v in DEFAULT_TARGET_KB.items()) + "."),
        click.option("--entries", type=int, help="Number of entries instead of a size."),
        click.option("--seed", type=int, default=1, show_default=True,
                     help="Same seed and arguments give a byte-identical file."),
    )):
        command = option(command)
    return command


def measurement_options(command: Callable) -> Callable:
    """How a store is measured: cycles, sampling, repeats, heap measure, limits, environment."""
    for option in reversed((
        click.option("--cycles", type=int, default=50, show_default=True,
                     help="Load + update cycles per repeat (the fix's figures used 50)."),
        click.option("--sample-every", type=int, default=10, show_default=True,
                     help="Take a sample row every N cycles (and after the last)."),
        click.option("--repeat", type=int, default=5, show_default=True,
                     help="Fresh worker processes, one after another: 5 lets a gate tell a "
                     "change from noise (exact Mann-Whitney needs 4 a side at p < 0.05, 5 "
                     "for the gate's three metrics); 1 for a quick look."),
        click.option("--warmup-cycles", type=int, default=0, show_default=True,
                     help="Cycles run before cycle 0 and left out of every figure."),
        click.option("--trim", is_flag=True,
                     help="gc.collect() and malloc_trim(0) before each sample "
                     "(untrimmed RSS kept too)."),
        click.option("--touch-keys", type=int, default=400, show_default=True,
                     help="Cycles update the first N keys in turn."),
        click.option("--touch-fields", metavar="A,B,...",
                     help="Fields each cycle's update sets (default "
                     f"{','.join(DEFAULT_TOUCH_FIELDS)}): updatedAt gets the epoch ms, label "
                     "'cycle N', any other 'harness:N'."),
        click.option("--workload", default=DEFAULT_WORKLOAD, show_default=True,
                     metavar="|".join(WORKLOADS),
                     help="What a cycle does: full loads the whole store, then updates one "
                     "entry (the fix's stress loop); entry gets one session's entry, then "
                     "updates it (get, update_entry), as a gateway does per message. sweep "
                     "takes both, comma-separated."),
        click.option("--heap", type=click.Choice(sorted(METERS)), default="allocator",
                     show_default=True,
                     help="How heap_mb is measured (tracemalloc is 3-8x slower)."),
        click.option("--interval-ms", type=float, default=10.0, show_default=True,
                     help="Background RSS sampling interval."),
        click.option("--timeout", "timeout_s", type=float, default=1800.0, show_default=True,
                     help="Seconds before the worker is killed and the run marked failed."),
        click.option("--env", multiple=True, help="NAME=VALUE set for the worker (repeatable)."),
    )):
        command = option(command)
    return command


def layout_options(command: Callable) -> Callable:
    """--layout-seed and --fixed-layout: how each repeat's worker layout is chosen."""
    for option in reversed((
        click.option("--layout-seed", type=int,
                     help="Seed the repeats' layouts (environment padding, PYTHONHASHSEED) "
                     "are drawn from (default: random, recorded in meta.json)."),
        click.option("--fixed-layout", is_flag=True,
                     help="Run every repeat in the one layout (narrower, less honest intervals)."),
    )):
        command = option(command)
    return command
