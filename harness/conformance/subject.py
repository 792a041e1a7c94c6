"""The store under test in a scratch folder: fresh store files, drivers on them, writer runs.

Every rule starts from a freshly generated store of its own (the same bytes each time), so no
rule sees what another left. The concurrent-writer runs are made once and shared by the two
rules that judge them (lost updates; reads of a half-written file).
"""

from __future__ import annotations

import functools
import itertools
from pathlib import Path

from session_store_harness.conformance.drivers import Driver
from session_store_harness.generating.generator import GenerateSpec, generate
from session_store_harness.measuring.persisted import Layout, layout_of
from session_store_harness.measuring.stress import (
    ConcurrencyResult,
    CrashResult,
    concurrency,
    crashes,
)
from session_store_harness.measuring.targets import StoreTarget

STORE_NAME = "sessions.json"
MODES = ("plain", "base reuse")  # update(mutator), and update(mutator, base_store=loaded)


class Subject:
    """One store under test, its settings, and a scratch folder to test it in."""

    def __init__(self, target: StoreTarget, store: GenerateSpec, scratch: Path, *,
                 writers: int, updates: int, crash_trials: int, seed: int,
                 step_timeout_s: float) -> None:
        self.target = target
        self.store = store
        self.scratch = scratch
        self.writers, self.updates = writers, updates
        self.crash_trials, self.seed = crash_trials, seed
        self.step_timeout_s = step_timeout_s
        self.layout: Layout = layout_of(target.spec, target.builtin)  # how to read its files
        self._drivers = itertools.count(1)
        (scratch / "printed").mkdir()

    def fresh_store(self, name: str) -> Path:
        """A newly generated store (mode 0600) alone in a folder called `name`."""
        folder = self.scratch / name
        folder.mkdir()
        return generate(self.store, folder / STORE_NAME).path

    def driver(self, path: Path) -> Driver:
        """A new driver process holding a new instance of the store on `path`."""
        printed = self.scratch / "printed" / f"driver-{next(self._drivers)}.txt"
        return Driver(self.target, path, printed, self.step_timeout_s)

    @functools.cached_property
    def concurrent_writes(self) -> dict[str, ConcurrencyResult]:
        """K writers x N updates, each on its own fresh store, per mode."""
        return {mode: concurrency(self.target, self.fresh_store(f"writers-{i}"), self.writers,
                                  self.updates, reuse=mode != "plain")
                for i, mode in enumerate(MODES)}

    @functools.cached_property
    def entry_writes(self) -> ConcurrencyResult:
        """K writers x N updates through `update_entry`, on a fresh store of their own."""
        return concurrency(self.target, self.fresh_store("entry-writers"), self.writers,
                           self.updates, reuse=False, entry=True)

    @functools.cached_property
    def entry_api(self) -> dict[str, str]:
        """Whether the store has its own `get` and `update_entry` ("native"), or the workers
        fall back over load and update ("fallback"), as a driver finds it."""
        with self.driver(self.fresh_store("entry-api")) as driver:
            return driver.entry_api

    @functools.cached_property
    def killed_writes(self) -> dict[str, CrashResult]:
        """Writers killed at seeded random points: half the trials in each mode."""
        half = self.crash_trials // 2
        trials = {"plain": self.crash_trials - half, "base reuse": half}
        return {mode: crashes(self.target, self.fresh_store(f"kills-{i}"), trials[mode],
                              self.seed + i, reuse=mode != "plain")
                for i, mode in enumerate(MODES) if trials[mode]}
