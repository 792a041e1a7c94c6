"""pyperf micro-benchmarks of single store operations, run as its own script process.

pyperf's `Runner` parses `sys.argv` itself and clashes with click (pyperf issue 65), so
`harness bench` starts this module in a child process (`python -P -m
session_store_harness.measuring.bench_ops --store S --store-file F -o SCRATCH/bench.json`). pyperf
then spawns its own worker processes of this same script. The `-o` is always in the command's
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

from session_store_harness.stores import STORES


def _scratch_copy(source: str) -> Path:
    # Each pyperf worker writes its own copy: updates must not change the benchmark's input.
    folder = Path(tempfile.mkdtemp(prefix="harness-bench-"))
    atexit.register(shutil.rmtree, folder, True)
    target = folder / "sessions.json"
    shutil.copyfile(source, target)
    return target


def _quiet_first_load(store_name: str, path: Path) -> None:
    # The size-gate warning is once per path and process; pyperf starts dozens of processes.
    with contextlib.redirect_stderr(io.StringIO()):
        STORES[store_name](path).load()


def cold_load(loops: int, store_name: str, path: Path) -> float:
    """A new store instance per load: nothing cached, the whole file parsed."""
    started = time.perf_counter()
    for _ in range(loops):
        STORES[store_name](path).load()
    return time.perf_counter() - started


def warm_load(loops: int, store_name: str, path: Path) -> float:
    """Loads on one instance: served from the object cache where the store keeps one."""
    store = STORES[store_name](path)
    store.load()
    started = time.perf_counter()
    for _ in range(loops):
        store.load()
    return time.perf_counter() - started


def update(loops: int, store_name: str, path: Path, reuse: bool) -> float:
    """One entry changed per update; with `reuse`, the loaded store is the base snapshot."""
    store = STORES[store_name](path)
    loaded = store.load()
    key = next(iter(loaded))
    started = time.perf_counter()
    for i in range(loops):
        store.update(lambda s, i=i: s[key].__setitem__("label", f"bench {i}"),
                     base_store=loaded if reuse else None)
    return time.perf_counter() - started


def add_cmdline_args(cmd: list[str], args) -> None:
    cmd.extend(["--store", args.store, "--store-file", args.store_file])


def main() -> None:
    runner = pyperf.Runner(add_cmdline_args=add_cmdline_args)
    runner.argparser.add_argument("--store", choices=sorted(STORES), required=True)
    runner.argparser.add_argument("--store-file", required=True)
    args = runner.parse_args()
    runner.metadata["store"] = args.store
    path = _scratch_copy(args.store_file)
    _quiet_first_load(args.store, path)
    runner.bench_time_func("cold-load", cold_load, args.store, path)
    runner.bench_time_func("warm-load", warm_load, args.store, path)
    runner.bench_time_func("update", update, args.store, path, False)
    runner.bench_time_func("update-with-base", update, args.store, path, True)


if __name__ == "__main__":
    main()
