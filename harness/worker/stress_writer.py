"""A writer process for `harness stress`: updates one store as fast as it can.

Run as `python -P -m session_store_harness.worker.stress_writer`. Standard library only; its
store is loaded as the measured worker loads it (`store_loader.py`: a built-in, `module:Class` or
`/abs/file.py:Class`, with `--python-path` folders appended to sys.path). Its Node twin is
`stores/node/stress_writer.mjs`, with the same arguments, output and exit codes. Each update
increments its own key's `count` and, with `--shared`, the shared entry's `count` too, so
lost updates show as missing counts. `--updates 0` means until killed. `--start-at-ms T` waits
until the epoch millisecond T before the first update, so writers started one after another
begin together. With `--entry` each update is made through `update_entry` (the store's own, or
the fallback over update): one call for its own key, one for the shared key.

At exit the writer prints one line on stdout, `{"completed": N}`: the updates whose `update`
returned. The harness compares the file with these, so an update that was never made (its writer
gave up) is not taken for one the file lost. Exit codes (harness/errors.py): 0, or
WRITER_LOCK_TIMEOUT when the lock stayed held past its timeout, or WRITER_STORE_ERROR for any
other store failure.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
import traceback
from pathlib import Path

from session_store_harness.errors import WRITER_LOCK_TIMEOUT, WRITER_STORE_ERROR
from session_store_harness.stores import LockTimeout, StoreError
from session_store_harness.stores.base import SessionMap
from session_store_harness.worker.store_loader import entry_api, load_store_class

SHARED_KEY = "stress:shared"


def bump(key: str) -> dict:
    return {"sessionId": key, "updatedAt": 0, "count": 0}


def mutator(own_key: str, shared: bool):
    def mutate(store: SessionMap) -> None:
        store.setdefault(own_key, bump(own_key))["count"] += 1
        if shared:
            store.setdefault(SHARED_KEY, bump(SHARED_KEY))["count"] += 1
    return mutate


def entry_bump(key: str):
    def mutate(entry: dict | None) -> dict:
        entry = bump(key) if entry is None else entry
        entry["count"] += 1
        return entry
    return mutate


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m session_store_harness.worker.stress_writer")
    parser.add_argument("--store", required=True)
    parser.add_argument("--path", required=True, type=Path)
    parser.add_argument("--key", required=True)
    parser.add_argument("--updates", type=int, default=0)
    parser.add_argument("--shared", action="store_true")
    parser.add_argument("--reuse-loaded-store", action="store_true")
    parser.add_argument("--entry", action="store_true")
    parser.add_argument("--start-at-ms", type=int, default=0)
    parser.add_argument("--python-path", action="append", default=[])
    return parser.parse_args(argv)


def wait_until(epoch_ms: int) -> None:
    delay_s = epoch_ms / 1000 - time.time()
    if delay_s > 0:
        time.sleep(delay_s)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    mutate = mutator(args.key, args.shared)
    rounds = range(args.updates) if args.updates else itertools.count()
    completed = 0
    try:
        store = load_store_class(args.store, args.python_path)(args.path)
        api = entry_api(store) if args.entry else None
        wait_until(args.start_at_ms)
        for _ in rounds:
            if api is not None:
                api.update_entry(args.key, entry_bump(args.key))
                if args.shared:
                    api.update_entry(SHARED_KEY, entry_bump(SHARED_KEY))
            else:
                base = store.load() if args.reuse_loaded_store else None
                store.update(mutate, base_store=base)
            completed += 1
    except LockTimeout as exc:
        print(f"stress worker: {exc}", file=sys.stderr)
        return WRITER_LOCK_TIMEOUT
    except StoreError as exc:
        print(f"stress worker: {exc}", file=sys.stderr)
        return WRITER_STORE_ERROR
    except Exception as exc:  # a user's store failing its own way
        traceback.print_exc()
        print(f"stress worker: the store raised {type(exc).__name__}: {exc}", file=sys.stderr)
        return WRITER_STORE_ERROR
    finally:  # whatever ended the writer: what it completed is what the file must hold
        print(json.dumps({"completed": completed}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
