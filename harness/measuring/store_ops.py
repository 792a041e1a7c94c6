"""Counting each built-in store's whole-store operations per cycle, in Python and in Node.

Every built-in store counts its reads, parses, clones, stringifies, digests and writes in its
`ops` (stores/wholefile.py, stores/node/sessionStore.mjs). This module runs real cycles (the
worker's: load, then update one of the first keys' `updatedAt`, `lastTo` and `label`) on a copy
of a store file, after warm-up cycles, and returns the counts per cycle: Python stores in this
process, Node stores through `stores/node/count_ops.mjs`. `python -m
session_store_harness.measuring.store_ops` prints the README's table of them.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from session_store_harness import stores
from session_store_harness.errors import HarnessError
from session_store_harness.measuring.processes import node_binary
from session_store_harness.stores import STORES
from session_store_harness.stores.snapshot import MAX_BYTES_ENV
from session_store_harness.stores.wholefile import OPS
from session_store_harness.worker.protocol import touch_value

COUNT_SCRIPT = Path(stores.__file__).resolve().parent / "node" / "count_ops.mjs"
# The designs the table shows: the store before the fix, the fix, and a leaner fix.
DESIGNS = ("wholefile", "snapshot", "snapshot-lean")
TOUCHED_KEYS = 400  # the fix's stress test touches one of the first 400 keys
BASE_MS = 1_767_225_600_000


@dataclass(frozen=True)
class OpCount:
    """One store's whole-store operations per cycle, in one setting."""

    store: str
    runtime: str
    reuse: bool
    cached: bool  # the store is within the object cache limit (small) or over it (large)
    per_cycle: tuple[tuple[str, float], ...]

    def get(self, op: str) -> float:
        return dict(self.per_cycle)[op]


def count_ops(store_file: Path, store: str, runtime: str, *, reuse: bool, cached: bool,
              warmup: int = 2, cycles: int = 3) -> OpCount:
    """Run `warmup` + `cycles` cycles on a copy of `store_file`; the counts per cycle."""
    limit = store_file.stat().st_size * 2 if cached else 0
    env = {MAX_BYTES_ENV: str(limit)} if cached else {}  # 0 unset: the default 1,000,000
    with tempfile.TemporaryDirectory(prefix="harness-ops-") as folder:
        path = Path(folder) / "sessions.json"
        shutil.copyfile(store_file, path)
        run = _count_python if runtime == "python" else _count_node
        totals = run(store, path, env, reuse, warmup, cycles)
    return OpCount(store, runtime, reuse, cached,
                   tuple((op, totals[op] / cycles) for op in OPS))


def count_all(store_file: Path, runtimes: Sequence[str] = ("python", "node"),
              designs: Sequence[str] = DESIGNS) -> list[OpCount]:
    """Every design, with and without reuse, over and within the cache limit, per runtime."""
    return [count_ops(store_file, store, runtime, reuse=reuse, cached=cached)
            for cached in (False, True) for store in designs for reuse in (False, True)
            for runtime in runtimes]


def _count_python(store: str, path: Path, env: dict[str, str], reuse: bool, warmup: int,
                  cycles: int) -> dict[str, int]:
    instance = STORES[store](path, env=env)
    # the size gate's one-time warning is for a gateway's log, not for this table
    with contextlib.redirect_stderr(io.StringIO()):
        for index in range(warmup):
            _cycle(instance, index, reuse)
    before = dict(instance.ops)
    for index in range(warmup, warmup + cycles):
        _cycle(instance, index, reuse)
    return {op: instance.ops[op] - before[op] for op in OPS}


def _cycle(instance: object, index: int, reuse: bool) -> None:
    loaded = instance.load()
    keys = list(loaded)
    key = keys[index % min(len(keys), TOUCHED_KEYS)]
    fields = {field: touch_value(field, index, BASE_MS + index)
              for field in ("updatedAt", "lastTo", "label")}
    instance.update(lambda current: current[key].update(fields),
                    base_store=loaded if reuse else None)


def _count_node(store: str, path: Path, env: dict[str, str], reuse: bool, warmup: int,
                cycles: int) -> dict[str, int]:
    done = subprocess.run(
        [node_binary(), str(COUNT_SCRIPT), store, str(path), str(warmup), str(cycles),
         "1" if reuse else "0"], capture_output=True, text=True, timeout=120,
        env={**os.environ, **env}, check=False)
    if done.returncode != 0:
        raise HarnessError(f"counting {store} in node failed: {done.stderr.strip()[-300:]}")
    return json.loads(done.stdout)


def main() -> None:
    """Print the README's table: a generated 1,200 KB realistic store, both runtimes."""
    from session_store_harness.generating.generator import GenerateSpec, generate
    from session_store_harness.writers.ops_table import ops_markdown

    with tempfile.TemporaryDirectory(prefix="harness-ops-") as folder:
        path = generate(GenerateSpec("realistic", seed=1, target_kb=TABLE_KB),
                        Path(folder) / "sessions.json").path
        print(ops_markdown(count_all(path)))


TABLE_KB = 1200  # over the 1,000,000-byte cache limit; the counts do not depend on the size


if __name__ == "__main__":
    sys.exit(main())
