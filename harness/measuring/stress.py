"""Stores under concurrent writers and under writers killed mid-update, as figures.

Starts real writer processes (`worker/stress_writer.py`, or `stores/node/stress_writer.mjs` for
`--runtime node`): K writers x M updates on one store, with a reader checking the file
throughout; and N writers killed with SIGKILL after seeded random delays, each followed by a
check of the file and by one more writer that must clean up. The writers load a built-in or a
user's store (a Python class, a Node module) as the measured workers do; a `--worker-cmd`
program is refused, as it has no writer to run.

The file is checked with a strict parser of its own, not the stores' parser: a store must never
vouch for its own output. A lost update is one a writer reported as completed that the file
lacks; a writer that gave up waiting for the lock is a timeout, counted apart.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from session_store_harness.errors import WRITER_LOCK_TIMEOUT, HarnessError
from session_store_harness.generating.generator import GenerateSpec, generate
from session_store_harness.measuring.persisted import Layout, layout_of
from session_store_harness.measuring.preflight import check_loadable
from session_store_harness.measuring.processes import child_env
from session_store_harness.measuring.storefile import copy_user_store
from session_store_harness.measuring.strict import InvalidStore, strict_parse  # noqa: F401 (importers)
from session_store_harness.measuring.targets import StoreTarget, target_of
from session_store_harness.model.config import RUNTIME_STORES, check_range
from session_store_harness.model.store_spec import BUILTIN, StoreSpec, builtin_spec
from session_store_harness.stores import STORES, StoreError, store_class
from session_store_harness.stores.lock import lock_path_for
from session_store_harness.worker.stress_writer import SHARED_KEY, mutator

CRASH_KEY = "stress:crash"
PYTHON_WRITER = "session_store_harness.worker.stress_writer"
NODE_WRITER = "stress_writer.mjs"  # in stores/node
# Writers are started one by one but begin their updates together, once all have started.
START_DELAY_MS = 300
START_DELAY_PER_WRITER_MS = 40


@dataclass(frozen=True)
class StressConfig:
    """One `harness stress`: which store, on what file, how many writers, updates and kills."""

    store: str
    generate: GenerateSpec | None
    store_file: Path | None
    writers: int = 4
    updates: int = 200  # per writer
    reuse_loaded_store: bool = False
    crash_trials: int = 100
    seed: int = 1
    runtime: str = "python"  # whose writer runs the store: Python's, or stores/node's
    store_spec: StoreSpec | None = None  # None: the built-in `store` names

    @property
    def spec(self) -> StoreSpec:
        return as_spec(self.store_spec or self.store, self.runtime)

    def __post_init__(self) -> None:
        check_range("--writers", self.writers, 1, 64)
        check_range("--updates", self.updates, 1, 100_000)
        check_range("--crash-trials", self.crash_trials, 0, 100_000)
        check_runtime(self.spec)


def as_spec(store: str | StoreSpec, runtime: str = "python") -> StoreSpec:
    """A spec as it is, or the built-in a name means."""
    return store if isinstance(store, StoreSpec) else builtin_spec(store, runtime)


def check_runtime(spec: StoreSpec) -> None:
    """Stores the writers can run: a built-in, a user's Python class or Node module."""
    if spec.runtime not in RUNTIME_STORES:
        raise HarnessError(f"stress runs its own writers, which load a built-in, a Python "
                           f"class or a Node module; {spec.describe()} is none of them")
    if spec.kind == BUILTIN and spec.runtime != "python" \
            and spec.target not in RUNTIME_STORES[spec.runtime]:
        raise HarnessError(f"store {spec.target!r} has no {spec.runtime} version; it has "
                           f"{', '.join(RUNTIME_STORES[spec.runtime])}")


@dataclass(frozen=True)
class StressReport:
    """What a stress session found."""

    config: StressConfig
    argv: tuple[str, ...]
    concurrency: ConcurrencyResult
    crashes: CrashResult | None

    @property
    def ok(self) -> bool:
        return self.concurrency.ok and (self.crashes is None or self.crashes.ok)

    def problems(self) -> list[str]:
        """What made the session fail, one phrase each."""
        found = self.concurrency.problems()
        return found + (self.crashes.problems() if self.crashes else [])


def stress_store(config: StressConfig, argv: tuple[str, ...] = ()) -> StressReport:
    """Concurrent writers, then killed writers, on a scratch copy of the store."""
    check_loadable(config.spec)  # a user's store that cannot load: one line, before any work
    with tempfile.TemporaryDirectory(prefix="harness-stress-") as scratch:
        path = Path(scratch) / "sessions.json"
        if config.store_file is not None:
            copy_user_store(config.store_file, path)
        else:
            generate(config.generate, path)
        target = target_of(config.spec)
        result = concurrency(target, path, config.writers, config.updates,
                             config.reuse_loaded_store)
        crash = crashes(target, path, config.crash_trials, config.seed,
                        reuse=config.reuse_loaded_store) if config.crash_trials else None
    return StressReport(config, argv, result, crash)


@dataclass(frozen=True)
class ConcurrencyResult:
    """K writers x M updates: what the writers completed and what the file counted."""

    writers: int
    updates_each: int
    reuse_loaded_store: bool
    shared_count: int
    own_counts: dict[str, int]
    writer_failures: list[str]
    reads: int
    invalid_reads: int
    leftovers: list[str]
    completed: dict[str, int] = field(default_factory=dict)  # as each writer reported it
    timeouts: list[str] = field(default_factory=list)  # writers that gave up on the lock
    first_invalid_read: str = ""  # why the first invalid read was not a store

    @property
    def attempted(self) -> int:
        return self.writers * self.updates_each

    @property
    def completed_total(self) -> int:
        return sum(self._completed(key) for key in self._writer_keys())

    @property
    def lost(self) -> int:
        """Updates writers reported as completed that the file lacks."""
        own_lost = sum(max(0, self._completed(key) - self.own_counts.get(key, 0))
                       for key in self._writer_keys())
        return max(self.completed_total - self.shared_count, own_lost, 0)

    def _writer_keys(self) -> set[str]:
        return set(self.own_counts) | set(self.completed)

    def _completed(self, key: str) -> int:
        # A writer that reported nothing (it crashed): what the file holds is all it is owed.
        return self.completed.get(key, self.own_counts.get(key, 0))

    @property
    def ok(self) -> bool:
        return not self.problems()

    def problems(self) -> list[str]:
        counts = {"lost updates": self.lost, "invalid reads": self.invalid_reads,
                  "leftovers": len(self.leftovers), "writer failures": len(self.writer_failures),
                  "writers that gave up waiting for the lock": len(self.timeouts)}
        return [f"{count} {what}" for what, count in counts.items() if count]


@dataclass(frozen=True)
class CrashResult:
    """N writers killed at random points: what the file and the folder looked like after."""

    trials: int
    corrupt: int  # the file did not parse, or other entries changed
    went_backwards: int  # the counter fell: a completed update was undone
    left_by_kill: dict[str, int] = field(default_factory=dict)  # temp files / locks seen
    leftovers_after_next_write: int = 0
    next_write_failures: int = 0  # the writer after a kill could not update the store
    first_corruption: str = ""  # the first trial that left a corrupt file, and why

    @property
    def ok(self) -> bool:
        return not self.problems()

    def problems(self) -> list[str]:
        counts = {"corrupt files": self.corrupt, "undone updates": self.went_backwards,
                  "leftovers after the next writer": self.leftovers_after_next_write,
                  "failed writes after a kill": self.next_write_failures}
        return [f"{count} {what}" for what, count in counts.items() if count]


def writer_command(target: StoreTarget, path: Path, key: str, updates: int, shared: bool,
                   reuse: bool, start_at_ms: int = 0, entry: bool = False) -> list[str]:
    """A writer process of the target's runtime (`worker/stress_writer.py` or its Node twin);
    with `entry`, its updates go through `update_entry`."""
    args = ["--path", str(path), "--key", key, "--updates", str(updates)]
    args += (["--shared"] if shared else []) + (["--reuse-loaded-store"] if reuse else [])
    args += ["--entry"] if entry else []
    args += ["--start-at-ms", str(start_at_ms)] if start_at_ms else []
    return target.command(PYTHON_WRITER, NODE_WRITER, *args)


@dataclass(frozen=True)
class WriterExit:
    """How one writer process ended, and what it said it completed."""

    exit_code: int
    completed: int | None  # None: it printed no report (it crashed)
    stderr: str

    @property
    def message(self) -> str:
        """The writer's last line on stderr (its one-line verdict, after any traceback the
        store printed), or its exit code."""
        lines = self.stderr.strip().splitlines()
        return lines[-1][-300:] if lines else f"exit code {self.exit_code}"


def finish(process: subprocess.Popen) -> WriterExit:
    stdout, stderr = process.communicate()
    return WriterExit(process.returncode, _completed(stdout),
                      stderr.decode(errors="replace"))


def _completed(stdout: bytes) -> int | None:
    lines = stdout.decode(errors="replace").strip().splitlines()
    try:
        report = json.loads(lines[-1])
    except (IndexError, ValueError):
        return None
    value = report.get("completed") if isinstance(report, dict) else None
    return value if isinstance(value, int) else None


def concurrency(target: StoreTarget, path: Path, writers: int, updates: int,
                reuse: bool, entry: bool = False) -> ConcurrencyResult:
    """Start all writers, let them begin together; check the file until they are done. With
    `entry`, each writer updates through `update_entry` (its key, then the shared one)."""
    permanent = _own_files(target, path)
    start_at_ms = (int(time.time() * 1000) + START_DELAY_MS
                   + START_DELAY_PER_WRITER_MS * writers)
    keys = [f"stress:writer-{i}" for i in range(writers)]
    processes = {key: subprocess.Popen(
        writer_command(target, path, key, updates, True, reuse, start_at_ms, entry),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env()) for key in keys}
    layout = layout_of(target.spec, target.builtin)
    reads = _Reader(path, layout)
    reads.start()
    exits = {key: finish(process) for key, process in processes.items()}
    reads.stop()
    final, final_invalid = _final_store(path, layout)
    return ConcurrencyResult(
        writers=writers, updates_each=updates, reuse_loaded_store=reuse,
        shared_count=_count(final, SHARED_KEY),
        own_counts={key: _count(final, key) for key in keys},
        writer_failures=[e.message for e in exits.values()
                         if e.exit_code not in (0, WRITER_LOCK_TIMEOUT)],
        reads=reads.count + 1, invalid_reads=reads.invalid + final_invalid,  # +1: the last
        leftovers=_leftovers(path, permanent),
        completed={key: e.completed for key, e in exits.items() if e.completed is not None},
        timeouts=[e.message for e in exits.values() if e.exit_code == WRITER_LOCK_TIMEOUT],
        first_invalid_read=reads.first_error or _why_invalid(path, layout))


def _final_store(path: Path, layout: Layout) -> tuple[dict[str, Any], int]:
    """The store the writers left, or nothing (counted as an invalid read) if it is not one."""
    try:
        return layout.read(path), 0
    except (InvalidStore, StoreError):
        return {}, 1


def _why_invalid(path: Path, layout: Layout) -> str:
    """Why the file is not a store now, or "" if it is one."""
    try:
        layout.read(path)
    except (InvalidStore, StoreError) as exc:
        return str(exc)
    return ""


def _count(store: dict[str, Any], key: str) -> int:
    entry = store.get(key)
    return entry.get("count", 0) if isinstance(entry, dict) else 0


def crashes(target: StoreTarget, path: Path, trials: int, seed: int,
            max_delay_s: float = 0.4, reuse: bool = False) -> CrashResult:
    """Kill a busy writer `trials` times; after each, check the file, then write once more."""
    rng = random.Random(seed)
    layout = layout_of(target.spec, target.builtin)
    others = {k: v for k, v in layout.read(path).items() if k != CRASH_KEY}
    corrupt = backwards = leftovers = failed_next = 0
    left = {"temp files": 0, "locks": 0}
    permanent = _own_files(target, path)
    first_corruption = ""
    count = 0
    for trial in range(1, trials + 1):
        process = subprocess.Popen(writer_command(target, path, CRASH_KEY, 0, False, reuse),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   env=child_env())
        time.sleep(rng.uniform(0.05, max_delay_s))
        process.send_signal(signal.SIGKILL)
        process.wait()
        left["temp files"] += len(list(path.parent.glob(path.name + ".*.tmp")))
        left["locks"] += lock_path_for(path).exists()
        try:
            now = layout.read(path)
        except (InvalidStore, StoreError) as exc:
            corrupt += 1
            first_corruption = first_corruption or f"kill {trial}: {exc}"
            continue
        if {k: v for k, v in now.items() if k != CRASH_KEY} != others:
            corrupt += 1
            first_corruption = first_corruption or (
                f"kill {trial}: entries other than {CRASH_KEY!r} changed")
        new_count = _count(now, CRASH_KEY)
        backwards += new_count < count
        count = new_count
        # The next writer must take over a dead writer's lock and sweep its temp files.
        if write_once(target, path):
            count += 1
        else:
            failed_next += 1
        leftovers += len(_leftovers(path, permanent))
    return CrashResult(trials, corrupt, backwards, left, leftovers, failed_next,
                       first_corruption)


def write_once(target: StoreTarget, path: Path) -> bool:
    """One update by a fresh writer of the runtime under test: did it complete?"""
    if target.runtime == "python" and target.spec in STORES:  # ours: no process to start
        try:
            store_class(target.spec)(path).update(mutator(CRASH_KEY, shared=False))
        except StoreError:
            return False
        return True
    process = subprocess.Popen(writer_command(target, path, CRASH_KEY, 1, False, False),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env())
    return finish(process).completed == 1


def _own_files(target: StoreTarget, path: Path) -> set[str]:
    """The files a store keeps beside its file by design, seen after one clean update (a lock
    file some stores leave for good, such as one they only `flock`): not leftovers."""
    write_once(target, path)
    return set(_leftovers(path)) | layout_of(target.spec, target.builtin).own_files(path)


def _leftovers(path: Path, permanent: set[str] = frozenset()) -> list[str]:
    """Whatever else is in the store's folder (a scratch folder that held only the store and
    the store's own `permanent` files): temp files and locks, whatever a store names them."""
    return sorted(p.name for p in path.parent.iterdir()
                  if p.name != path.name and p.name not in permanent)


class _Reader(threading.Thread):
    """Parses the store over and over while writers run: every read must be a valid store."""

    def __init__(self, path: Path, layout: Layout) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.layout = layout
        self.count = self.invalid = 0
        self.first_error = ""
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.layout.read(self.path)
            except (InvalidStore, StoreError) as exc:
                self.invalid += 1
                self.first_error = self.first_error or str(exc)
            self.count += 1
            time.sleep(0.002)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
