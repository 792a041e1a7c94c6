"""A run's configuration, built once from the command line and passed explicitly.

The one place options become a config: every command that makes or measures a store builds it
here (`run_config`, `store_spec`), with the default sizes and range checks defined once.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from session_store_harness.errors import HarnessError
from session_store_harness.generating.generator import GenerateSpec

MAX_CYCLES = 1_000_000
# Default store sizes (KiB) by what the store is for: the gateway's 7.6 MB store for runs;
# smaller ones where many runs or processes are made (bench, stress, calibrate trials).
DEFAULT_TARGET_KB = {"run": 7600, "generate": 7600, "bench": 1000, "stress": 100,
                     "calibrate": 300, "conform": 100}
LABEL_PATTERN = r"[A-Za-z0-9._-]+"
RUNTIME_STORES = {"python": (), "node": ("wholefile", "snapshot")}  # python: every store


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides what a run measures."""

    store: str
    cycles: int
    sample_every: int
    runtime: str = "python"  # which worker runs the store: harness/worker.py or the Node one
    reuse_loaded_store: bool = False
    repeat: int = 1  # fresh worker processes, one after another
    warmup_cycles: int = 0  # run before cycle 0 and left out of every figure
    trim: bool = False  # gc.collect() + malloc_trim(0) before each sample
    touch_keys: int = 400
    heap: str = "allocator"
    interval_ms: float = 10.0
    timeout_s: float = 1800.0
    label: str = ""
    env: tuple[tuple[str, str], ...] = ()  # extra environment for the worker
    generate: GenerateSpec | None = None
    store_file: Path | None = None

    def __post_init__(self) -> None:
        check_range("--cycles", self.cycles, 1, MAX_CYCLES)
        check_range("--sample-every", self.sample_every, 1, MAX_CYCLES)
        check_range("--touch-keys", self.touch_keys, 1, 10_000_000)
        check_range("--repeat", self.repeat, 1, 1000)
        check_range("--warmup-cycles", self.warmup_cycles, 0, MAX_CYCLES)
        if not re.fullmatch(LABEL_PATTERN, self.label or "x"):
            raise HarnessError(f"--label may hold only letters, digits, '.', '_' and '-': "
                               f"{self.label!r}")
        if not 1 <= self.interval_ms <= 60_000:
            raise HarnessError(f"--interval-ms must be between 1 and 60000, got {self.interval_ms}")
        if self.timeout_s <= 0:
            raise HarnessError(f"--timeout must be positive, got {self.timeout_s}")
        if self.runtime not in RUNTIME_STORES:
            raise HarnessError(f"--runtime must be one of {', '.join(RUNTIME_STORES)}")
        if self.runtime != "python":
            if self.store not in RUNTIME_STORES[self.runtime]:
                raise HarnessError(f"store {self.store!r} has no {self.runtime} version; it has "
                                   f"{', '.join(RUNTIME_STORES[self.runtime])}")
            if self.heap != "allocator":
                raise HarnessError("--heap is for the Python worker; the Node worker reports "
                                   "V8's heapUsed")
        if (self.generate is None) == (self.store_file is None):
            raise HarnessError("give either --store-file or a generated store (--profile ...)")

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["env"] = dict(self.env)
        data["store_file"] = str(self.store_file) if self.store_file else None
        return data


def check_range(flag: str, value: int, low: int, high: int) -> None:
    """The one range check: a one-line error naming the option and both bounds."""
    if not low <= value <= high:
        raise HarnessError(f"{flag} must be between {low} and {high}, got {value}")


def store_spec(purpose: str, profile: str, seed: int, target_kb: int | None,
               entries: int | None) -> GenerateSpec:
    """What to generate; with neither a size nor a count, the default size for `purpose`."""
    if target_kb is None and entries is None:
        target_kb = DEFAULT_TARGET_KB[purpose]
    return GenerateSpec(profile=profile, seed=seed, target_kb=target_kb, entries=entries)


def env_pairs(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """`--env NAME=VALUE` options as pairs."""
    pairs = []
    for value in values:
        name, sep, setting = value.partition("=")
        if not sep or not name:
            raise HarnessError(f"--env takes NAME=VALUE, got {value!r}")
        pairs.append((name, setting))
    return tuple(pairs)


def run_config(store: str, store_file: Path | None, profile: str, target_kb: int | None,
               entries: int | None, seed: int, env: tuple[str, ...] = (), label: str = "",
               **options: Any) -> RunConfig:
    """The run's frozen configuration from the command line's values."""
    if store_file is not None and (target_kb is not None or entries is not None):
        raise HarnessError("--store-file measures an existing store: drop --target-kb/--entries")
    spec = None if store_file is not None else store_spec("run", profile, seed, target_kb,
                                                          entries)
    label = label or store + ("-reuse" if options.get("reuse_loaded_store") else "")
    return RunConfig(store=store, label=label, env=env_pairs(env), generate=spec,
                     store_file=store_file, **options)
