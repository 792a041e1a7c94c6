"""A run's configuration, built once from the command line and passed explicitly.

The one place options become a config: every command that makes or measures a store builds it
here (`run_config`, `generate_spec`), with the default sizes and range checks defined once. Option
values go in by name, so a configuration file can feed `run_config` the same values.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from session_store_harness.errors import HarnessError
from session_store_harness.generating.generator import GenerateSpec
from session_store_harness.model.store_spec import (
    BUILTIN,
    COMMAND,
    NODE_BUILTINS,
    RUNTIMES,
    StoreSpec,
    builtin_spec,
    parse_store_spec,
)
from session_store_harness.worker.protocol import (
    DEFAULT_TOUCH_FIELDS,
    DEFAULT_WORKLOAD,
    WORKLOADS,
    parse_touch_fields,
)

MAX_CYCLES = 1_000_000
# Default store sizes (KiB) by what the store is for: the gateway's 7.6 MB store for runs;
# smaller ones where many runs or processes are made (bench, stress, calibrate trials).
DEFAULT_TARGET_KB = {"run": 7600, "generate": 7600, "bench": 1000, "stress": 100,
                     "calibrate": 300, "conform": 100, "check": 100}
LABEL_PATTERN = r"[A-Za-z0-9._-]+"
RUNTIME_STORES = {"python": (), "node": NODE_BUILTINS}  # built-ins; python: every one
MAX_TOUCH_FIELDS = 100


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides what a run measures."""

    store: str  # the store as written (`--store`); `spec` says what it is
    cycles: int
    sample_every: int
    runtime: str = "python"  # python or node (the harness's workers), command (--worker-cmd)
    reuse_loaded_store: bool = False
    repeat: int = 1  # fresh worker processes, one after another
    warmup_cycles: int = 0  # run before cycle 0 and left out of every figure
    trim: bool = False  # gc.collect() + malloc_trim(0) before each sample
    touch_keys: int = 400
    touch_fields: tuple[str, ...] = DEFAULT_TOUCH_FIELDS  # what each cycle's mutation sets
    # what a cycle does: `full` loads the whole store then updates one entry (the fix's stress
    # loop); `entry` gets one entry then updates it (`get`, `update_entry`), as a gateway does
    # per message
    workload: str = DEFAULT_WORKLOAD
    heap: str = "allocator"
    interval_ms: float = 10.0
    timeout_s: float = 1800.0
    label: str = ""
    env: tuple[tuple[str, str], ...] = ()  # extra environment for the worker
    generate: GenerateSpec | None = None
    store_file: Path | None = None
    # the resolved store (`model/store_spec.py`); None becomes the built-in `store` names (a
    # config made in code, or read from a folder written before stores were specs)
    store_spec: StoreSpec | None = None

    @property
    def spec(self) -> StoreSpec:
        assert self.store_spec is not None  # set by __post_init__
        return self.store_spec

    def __post_init__(self) -> None:
        if self.store_spec is None:
            object.__setattr__(self, "store_spec", builtin_spec(self.store, self.runtime))
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
        if self.runtime not in (*RUNTIMES, COMMAND):
            raise HarnessError(f"--runtime must be one of {', '.join(RUNTIMES)}")
        if self.spec.runtime != self.runtime:  # a config assembled by hand, or a folder edited
            raise HarnessError(f"store {self.store!r} runs in {self.spec.runtime}, not in "
                               f"{self.runtime}")
        if self.spec.kind == BUILTIN and self.runtime == "node" and self.store not in NODE_BUILTINS:
            raise HarnessError(f"store {self.store!r} has no node version; it has "
                               f"{', '.join(NODE_BUILTINS)}")
        if self.runtime == "node" and self.heap != "allocator":
            raise HarnessError("--heap is for the Python worker; the Node worker reports "
                               "V8's heapUsed")
        check_touch_fields(self.touch_fields)
        check_workload(self.workload)
        if self.workload != DEFAULT_WORKLOAD and self.reuse_loaded_store:
            raise HarnessError("--reuse-loaded-store passes each cycle's loaded store to "
                               "update(); --workload entry loads no whole store: drop one")
        if (self.generate is None) == (self.store_file is None):
            raise HarnessError("give either --store-file or a generated store (--profile ...)")

    def describe_store(self) -> str:
        """The store and how it was run, for reports: `snapshot (built-in, python) + reuse`."""
        workload = "" if self.workload == DEFAULT_WORKLOAD else f", {self.workload} workload"
        return self.spec.describe() + (" + reuse" if self.reuse_loaded_store else "") + workload

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["env"] = dict(self.env)
        data["store_file"] = str(self.store_file) if self.store_file else None
        data["touch_fields"] = list(self.touch_fields)
        data["store_spec"] = self.spec.as_dict()
        return data


def check_touch_fields(fields: tuple[str, ...]) -> None:
    """The fields a cycle sets: at least one, each named once, none empty or holding a comma
    (the worker protocol passes them comma-separated)."""
    if not 1 <= len(fields) <= MAX_TOUCH_FIELDS or any(
            not field or "," in field for field in fields) or len(set(fields)) != len(fields):
        raise HarnessError(f"--touch-fields takes 1 to {MAX_TOUCH_FIELDS} distinct field names "
                           f"separated by commas, got {','.join(fields)!r}")


def check_workload(workload: str) -> None:
    if workload not in WORKLOADS:
        raise HarnessError(f"--workload must be one of {', '.join(WORKLOADS)}, got {workload!r}")


def parse_workloads(text: str) -> tuple[str, ...]:
    """`--workload full,entry` (a sweep's dimension) as a tuple, each checked, none twice."""
    workloads = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not workloads:
        raise HarnessError(f"--workload takes {' or '.join(WORKLOADS)}, got {text!r}")
    for workload in workloads:
        check_workload(workload)
    return workloads


def check_range(flag: str, value: int, low: int, high: int) -> None:
    """The one range check: a one-line error naming the option and both bounds."""
    if not low <= value <= high:
        raise HarnessError(f"{flag} must be between {low} and {high}, got {value}")


def generate_spec(purpose: str, profile: str, seed: int, target_kb: int | None,
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


def store_options(store: str | None, runtime: str | None = None, worker_cmd: str | None = None,
                  node_args: Sequence[str] = (), python_path: Sequence[str | Path] = (),
                  cwd: Path | None = None) -> dict[str, Any]:
    """`RunConfig`'s store fields (`store`, `runtime`, `store_spec`) from the store options."""
    spec = parse_store_spec(store, runtime, worker_cmd, node_args, python_path, cwd)
    return {"store": spec.written or spec.target, "runtime": spec.runtime, "store_spec": spec}


def touch_fields_option(text: str | None) -> tuple[str, ...]:
    """`--touch-fields a,b,c` as the config's tuple (None: the default fields)."""
    if text is None:
        return DEFAULT_TOUCH_FIELDS
    try:
        return parse_touch_fields(text)
    except ValueError as exc:
        raise HarnessError(str(exc)) from None


def run_config(store: str | None, store_file: Path | None, profile: str, target_kb: int | None,
               entries: int | None, seed: int, env: tuple[str, ...] = (), label: str = "",
               runtime: str | None = None, worker_cmd: str | None = None,
               node_args: Sequence[str] = (), python_path: Sequence[str | Path] = (),
               touch_fields: str | None = None, store_cwd: Path | None = None,
               **options: Any) -> RunConfig:
    """The run's frozen configuration from the command line's values (or a config file's: the
    same names). The store options become a `StoreSpec` (`model/store_spec.py`), their
    relative paths taken from `store_cwd` (a config file's folder; default: the current one)."""
    if store_file is not None and (target_kb is not None or entries is not None):
        raise HarnessError("--store-file measures an existing store: drop --target-kb/--entries")
    generated = None if store_file is not None else generate_spec("run", profile, seed,
                                                                  target_kb, entries)
    chosen = store_options(store, runtime, worker_cmd, node_args, python_path, store_cwd)
    label = label or chosen["store_spec"].slug + (
        "-reuse" if options.get("reuse_loaded_store") else "") + (
        "-entry" if options.get("workload") == "entry" else "")
    return RunConfig(label=label, env=env_pairs(env), generate=generated, store_file=store_file,
                     touch_fields=touch_fields_option(touch_fields), **chosen, **options)
