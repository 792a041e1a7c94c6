"""A run's configuration, built once from the command line and passed explicitly."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from session_store_harness.errors import HarnessError
from session_store_harness.generating.generator import GenerateSpec

MAX_CYCLES = 1_000_000
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
        _check_range("--cycles", self.cycles, 1, MAX_CYCLES)
        _check_range("--sample-every", self.sample_every, 1, MAX_CYCLES)
        _check_range("--touch-keys", self.touch_keys, 1, 10_000_000)
        _check_range("--repeat", self.repeat, 1, 1000)
        _check_range("--warmup-cycles", self.warmup_cycles, 0, MAX_CYCLES)
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


def _check_range(flag: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise HarnessError(f"{flag} must be between {low} and {high}, got {value}")
