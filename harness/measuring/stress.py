"""Stores under concurrent writers and under writers killed mid-update, as figures.

Starts real writer processes (`worker/stress_writer.py`): K writers x M updates on one store,
with a reader parsing the file throughout; and N writers killed with SIGKILL after seeded random
delays, each followed by a check of the file and by one more writer that must clean up.
"""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from session_store_harness.errors import HarnessError
from session_store_harness.generating.generator import GenerateSpec, generate
from session_store_harness.measuring.processes import python_module
from session_store_harness.model.config import check_range
from session_store_harness.stores import StoreError, store_class
from session_store_harness.stores.jsonfile import parse, read_bytes
from session_store_harness.stores.lock import lock_path_for
from session_store_harness.worker.stress_writer import SHARED_KEY, mutator

CRASH_KEY = "stress:crash"


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

    def __post_init__(self) -> None:
        check_range("--writers", self.writers, 1, 64)
        check_range("--updates", self.updates, 1, 100_000)
        check_range("--crash-trials", self.crash_trials, 0, 100_000)


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


def stress_store(config: StressConfig, argv: tuple[str, ...] = ()) -> StressReport:
    """Concurrent writers, then killed writers, on a scratch copy of the store."""
    with tempfile.TemporaryDirectory(prefix="harness-stress-") as scratch:
        path = Path(scratch) / "sessions.json"
        if config.store_file is not None:
            if not config.store_file.is_file():
                raise HarnessError(f"{config.store_file}: store file does not exist or is not "
                                   "a file")
            shutil.copyfile(config.store_file, path)
        else:
            generate(config.generate, path)
        result = concurrency(config.store, path, config.writers, config.updates,
                             config.reuse_loaded_store)
        crash = crashes(config.store, path, config.crash_trials, config.seed,
                        reuse=config.reuse_loaded_store) if config.crash_trials else None
    return StressReport(config, argv, result, crash)


@dataclass(frozen=True)
class ConcurrencyResult:
    """K writers x M updates: what should have been counted and what was."""

    writers: int
    updates_each: int
    reuse_loaded_store: bool
    shared_count: int
    own_counts: dict[str, int]
    writer_failures: list[str]
    reads: int
    invalid_reads: int
    leftovers: list[str]

    @property
    def attempted(self) -> int:
        return self.writers * self.updates_each

    @property
    def lost(self) -> int:
        own_lost = sum(self.updates_each - count for count in self.own_counts.values())
        return max(self.attempted - self.shared_count, own_lost)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.invalid_reads or self.leftovers or self.writer_failures)


@dataclass(frozen=True)
class CrashResult:
    """N writers killed at random points: what the file and the folder looked like after."""

    trials: int
    corrupt: int  # the file did not parse, or other entries changed
    went_backwards: int  # the counter fell: a completed update was undone
    left_by_kill: dict[str, int] = field(default_factory=dict)  # temp files / locks seen
    leftovers_after_next_write: int = 0

    @property
    def ok(self) -> bool:
        return not (self.corrupt or self.went_backwards or self.leftovers_after_next_write)


def writer_command(store: str, path: Path, key: str, updates: int, shared: bool,
                   reuse: bool) -> list[str]:
    command = python_module("session_store_harness.worker.stress_writer", "--store", store,
                            "--path", str(path), "--key", key, "--updates", str(updates))
    return command + (["--shared"] if shared else []) + (
        ["--reuse-loaded-store"] if reuse else [])


def concurrency(store: str, path: Path, writers: int, updates: int,
                reuse: bool) -> ConcurrencyResult:
    """Start all writers at once; read and parse the file until they are done."""
    processes = [subprocess.Popen(writer_command(store, path, f"stress:writer-{i}", updates,
                                                 True, reuse),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                 for i in range(writers)]
    reads = _Reader(path)
    reads.start()
    failures = []
    for process in processes:
        _, stderr = process.communicate()
        if process.returncode != 0:
            failures.append(stderr.decode(errors="replace").strip()[-300:] or
                            f"exit code {process.returncode}")
    reads.stop()
    final = parse(read_bytes(path), path)
    return ConcurrencyResult(
        writers=writers, updates_each=updates, reuse_loaded_store=reuse,
        shared_count=final.get(SHARED_KEY, {}).get("count", 0),
        own_counts={f"stress:writer-{i}": final.get(f"stress:writer-{i}", {}).get("count", 0)
                    for i in range(writers)},
        writer_failures=failures, reads=reads.count, invalid_reads=reads.invalid,
        leftovers=_leftovers(path))


def crashes(store: str, path: Path, trials: int, seed: int, max_delay_s: float = 0.4,
            reuse: bool = False) -> CrashResult:
    """Kill a busy writer `trials` times; after each, check the file, then write once more."""
    rng = random.Random(seed)
    others = {k: v for k, v in parse(read_bytes(path), path).items() if k != CRASH_KEY}
    corrupt = backwards = leftovers = 0
    left = {"temp files": 0, "locks": 0}
    count = 0
    for _ in range(trials):
        process = subprocess.Popen(writer_command(store, path, CRASH_KEY, 0, False, reuse),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, max_delay_s))
        process.send_signal(signal.SIGKILL)
        process.wait()
        left["temp files"] += len(list(path.parent.glob(path.name + ".*.tmp")))
        left["locks"] += lock_path_for(path).exists()
        try:
            now = parse(read_bytes(path), path)
        except StoreError:
            corrupt += 1
            continue
        if {k: v for k, v in now.items() if k != CRASH_KEY} != others:
            corrupt += 1
        new_count = now.get(CRASH_KEY, {}).get("count", 0)
        backwards += new_count < count
        count = new_count
        # The next writer must take over a dead writer's lock and sweep its temp files.
        store_class(store)(path).update(mutator(CRASH_KEY, shared=False))
        count += 1
        leftovers += len(_leftovers(path))
    return CrashResult(trials, corrupt, backwards, left, leftovers)


def _leftovers(path: Path) -> list[str]:
    names = [p.name for p in path.parent.glob(path.name + ".*.tmp")]
    return names + ([lock_path_for(path).name] if lock_path_for(path).exists() else [])


class _Reader(threading.Thread):
    """Parses the store over and over while writers run: every read must be a valid store."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.count = self.invalid = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                parse(read_bytes(self.path), self.path)
            except StoreError:
                self.invalid += 1
            self.count += 1
            time.sleep(0.002)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
