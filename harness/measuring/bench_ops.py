"""pyperf micro-benchmarks of single store operations, run as its own script process.

pyperf's `Runner` parses `sys.argv` itself and clashes with click (pyperf issue 65), so
`harness bench` starts this module in a child process (`python -P -m
session_store_harness.measuring.bench_ops --store TARGET [--python-path DIR]... --store-file F -o
SCRATCH/bench.json`), the store loaded as the measured worker loads it (`worker/store_loader.py`:
a built-in, `module:Class` or `/abs/file.py:Class`). pyperf then spawns its own worker processes
of this same script. The `-o` is always in the command's
private scratch folder: pyperf writes with the umask's mode and through symlinks, so the
command copies the file to the user's `-o` with the harness's own (0600, no-follow) writer.
Benchmark names do not carry the store's name, so `python -m pyperf compare_to a.json b.json`
pairs the same operation of two stores.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import shutil
import tempfile
import time
from pathlib import Path

import pyperf

from session_store_harness.worker.store_loader import load_store_class


def _scratch_copy(source: str) -> Path:
    # Each pyperf worker writes its own copy: updates must not change the benchmark's input.
    folder = Path(tempfile.mkdtemp(prefix="harness-bench-"))
    atexit.register(shutil.rmtree, folder, True)
    target = folder / "sessions.json"
    shutil.copyfile(source, target)
    return target


def _quiet_first_load(store_class: type, path: Path) -> None:
    # The size-gate warning is once per path and process; pyperf starts dozens of processes.
    with contextlib.redirect_stderr(io.StringIO()):
        store_class(path).load()


def cold_load(loops: int, store_class: type, path: Path) -> float:
    """A new store instance per load: nothing cached, the whole file parsed."""
    started = time.perf_counter()
    for _ in range(loops):
        store_class(path).load()
    return time.perf_counter() - started


def warm_load(loops: int, store_class: type, path: Path) -> float:
    """Loads on one instance: served from the object cache where the store keeps one."""
    store = store_class(path)
    store.load()
    started = time.perf_counter()
    for _ in range(loops):
        store.load()
    return time.perf_counter() - started


def update(loops: int, store_class: type, path: Path, reuse: bool) -> float:
    """One entry changed per update; with `reuse`, the loaded store is the base snapshot."""
    store = store_class(path)
    loaded = store.load()
    key = next(iter(loaded))
    started = time.perf_counter()
    for i in range(loops):
        store.update(lambda s, i=i: s[key].__setitem__("label", f"bench {i}"),
                     base_store=loaded if reuse else None)
    return time.perf_counter() - started


def add_cmdline_args(cmd: list[str], args) -> None:
    cmd.extend(["--store", args.store, "--store-file", args.store_file])
    for folder in args.python_path:
        cmd.extend(["--python-path", folder])


def main() -> None:
    runner = pyperf.Runner(add_cmdline_args=add_cmdline_args)
    runner.argparser.add_argument("--store", required=True)
    runner.argparser.add_argument("--store-file", required=True)
    runner.argparser.add_argument("--python-path", action="append", default=[])
    args = runner.parse_args()
    runner.metadata["store"] = args.store
    store_class = load_store_class(args.store, args.python_path)
    path = _scratch_copy(args.store_file)
    _quiet_first_load(store_class, path)
    runner.bench_time_func("cold-load", cold_load, store_class, path)
    runner.bench_time_func("warm-load", warm_load, store_class, path)
    runner.bench_time_func("update", update, store_class, path, False)
    runner.bench_time_func("update-with-base", update, store_class, path, True)


if __name__ == "__main__":
    main()
