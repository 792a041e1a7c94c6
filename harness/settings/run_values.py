"""One run's option values: the project configuration's, with the command line's on top.

The result is `run_config(...)`'s keyword arguments, so a run made from `harness run after` and
one made from the same values typed out are the same run. Only options the user actually gave
(`given`) override the file: click's defaults must not hide the file's settings.
"""

from __future__ import annotations

from collections.abc import Set
from typing import Any

from session_store_harness.errors import HarnessError
from session_store_harness.settings.project_config import ProjectConfig, StoreTable

WORKLOAD_KEYS = ("profile", "target_kb", "entries", "seed", "cycles", "sample_every", "repeat",
                 "warmup_cycles", "touch_keys", "workload")
GENERATED_KEYS = frozenset({"profile", "target_kb", "entries"})  # each excludes store_file
WORKER_KEYS = ("runtime", "worker_cmd", "node_args", "python_path")  # how a store is run


def run_values(project: ProjectConfig, values: dict[str, Any], given: Set[str],
               name: str | None = None) -> dict[str, Any]:
    """`values` (the command's options) over the file's workload defaults and, with `name`,
    over its `[stores.NAME]` table (replacing `store`)."""
    merged = dict(values)
    for key, value in _workload(project, given).items():
        if key not in given:
            merged[key] = value
    store_env: dict[str, str] = {}
    if name is not None:
        table = project.store(name)
        if table is None:
            raise HarnessError(f"no store named {name!r} in "
                               f"{project.path or 'a configuration file (none found)'}")
        if "store" in given and values.get("store"):
            raise HarnessError(f"give store {name!r} or --store, not both")
        for key, value in _store(project, table).items():
            if key not in given:
                merged[key] = value
        merged["store"] = table.store
        merged["store_cwd"] = project.folder
        store_env = table.env
    # the file's environment, then the store's, then the command line's: the last one wins
    pairs = {**project.table.env, **store_env}
    merged["env"] = (*(f"{k}={v}" for k, v in pairs.items()), *values.get("env", ()))
    return merged


def named_or_spec(project: ProjectConfig, values: dict[str, Any], given: Set[str],
                  store: str | None) -> dict[str, Any]:
    """`store` as a configured name if the file has one by that name, else as a store spec
    (`--store`); None: the command's own `--store`."""
    if store is not None and project.store(store) is not None:
        return run_values(project, values, given, store)
    if store is not None:
        if values.get("store"):
            raise HarnessError(f"give a store ({store!r}) or --store, not both")
        values = {**values, "store": store}
        given = {*given, "store"}
    return run_values(project, values, given)


def _workload(project: ProjectConfig, given: Set[str]) -> dict[str, Any]:
    table = project.table
    found: dict[str, Any] = {key: getattr(table, key) for key in WORKLOAD_KEYS
                             if getattr(table, key) is not None}
    if table.touch_fields is not None:
        found["touch_fields"] = ",".join(table.touch_fields)
    if table.store_file is not None and not given & GENERATED_KEYS:
        found["store_file"] = project.path_of(table.store_file)
    if "store_file" in given:  # the command's store replaces the file's generated one
        for key in GENERATED_KEYS - {"profile"}:
            found.pop(key, None)
    return found


def _store(project: ProjectConfig, table: StoreTable) -> dict[str, Any]:
    return {"runtime": table.runtime, "worker_cmd": table.worker_cmd,
            "node_args": tuple(table.node_args),
            "python_path": tuple(project.path_of(p) for p in table.python_path),
            "reuse_loaded_store": table.reuse_loaded_store}
