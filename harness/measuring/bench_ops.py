"""pyperf micro-benchmarks of single store operations, run as its own script process.

Per workload (`--workload full,entry`): `full` times cold-load, warm-load, update and
update-with-base; `entry` times get and update-entry, a gateway's per-message calls, through the
store's own `get`/`update_entry` or the worker's fallback over load/update (which one is in the
file's metadata, `entry_api`).

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

from session_store_harness.worker.protocol import DEFAULT_WORKLOAD, WORKLOADS
from session_store_harness.worker.store_loader import entry_api, load_store_class


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


def entry_get(loops: int, store_class: type, path: Path) -> float:
    """One session's entry read per call, on one instance (`get`, native or the fallback)."""
    store = store_class(path)
    api = entry_api(store)
    key = next(iter(store.load()))
    started = time.perf_counter()
    for _ in range(loops):
        api.get(key)
    return time.perf_counter() - started


def entry_update(loops: int, store_class: type, path: Path) -> float:
    """One entry changed per call (`update_entry`, native or the fallback)."""
    store = store_class(path)
    api = entry_api(store)
    key = next(iter(store.load()))

    def touch(entry: dict | None, i: int) -> dict:
        entry = {} if entry is None else entry
        entry["label"] = f"bench {i}"
        return entry

    started = time.perf_counter()
    for i in range(loops):
        api.update_entry(key, lambda entry, i=i: touch(entry, i))
    return time.perf_counter() - started


def entry_paths(store_class: type, path: Path) -> str:
    """`get native, update_entry fallback`: how the entry benchmarks reach the store."""
    return ", ".join(f"{name} {how}" for name, how in entry_api(store_class(path)).paths.items())


def parse_workloads(text: str) -> tuple[str, ...]:
    workloads = tuple(part.strip() for part in text.split(",") if part.strip())
    if not workloads or any(w not in WORKLOADS for w in workloads):
        raise SystemExit(f"--workload takes {' and/or '.join(WORKLOADS)}, got {text!r}")
    return workloads


def add_cmdline_args(cmd: list[str], args) -> None:
    cmd.extend(["--store", args.store, "--store-file", args.store_file,
                "--workload", args.workload])
    for folder in args.python_path:
        cmd.extend(["--python-path", folder])


def main() -> None:
    runner = pyperf.Runner(add_cmdline_args=add_cmdline_args)
    runner.argparser.add_argument("--store", required=True)
    runner.argparser.add_argument("--store-file", required=True)
    runner.argparser.add_argument("--python-path", action="append", default=[])
    runner.argparser.add_argument("--workload", default=DEFAULT_WORKLOAD)
    args = runner.parse_args()
    workloads = parse_workloads(args.workload)
    runner.metadata["store"] = args.store
    store_class = load_store_class(args.store, args.python_path)
    path = _scratch_copy(args.store_file)
    _quiet_first_load(store_class, path)
    if "full" in workloads:
        runner.bench_time_func("cold-load", cold_load, store_class, path)
        runner.bench_time_func("warm-load", warm_load, store_class, path)
        runner.bench_time_func("update", update, store_class, path, False)
        runner.bench_time_func("update-with-base", update, store_class, path, True)
    if "entry" in workloads:
        runner.metadata["entry_api"] = entry_paths(store_class, path)
        runner.bench_time_func("get", entry_get, store_class, path)
        runner.bench_time_func("update-entry", entry_update, store_class, path)


if __name__ == "__main__":
    main()
