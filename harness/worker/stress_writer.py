"""A writer process for `harness stress`: updates one store as fast as it can.

Run as `python -P -m session_store_harness.worker.stress_writer`. Standard library only. Each
update increments its own key's `count` and, with `--shared`, the shared entry's `count` too,
so lost updates show as missing counts. `--updates 0` means until killed.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

from session_store_harness.errors import WRITER_STORE_ERROR
from session_store_harness.stores import StoreError, store_class
from session_store_harness.stores.base import SessionMap

SHARED_KEY = "stress:shared"


def bump(key: str) -> dict:
    return {"sessionId": key, "updatedAt": 0, "count": 0}


def mutator(own_key: str, shared: bool):
    def mutate(store: SessionMap) -> None:
        store.setdefault(own_key, bump(own_key))["count"] += 1
        if shared:
            store.setdefault(SHARED_KEY, bump(SHARED_KEY))["count"] += 1
    return mutate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m session_store_harness.worker.stress_writer")
    parser.add_argument("--store", required=True)
    parser.add_argument("--path", required=True, type=Path)
    parser.add_argument("--key", required=True)
    parser.add_argument("--updates", type=int, default=0)
    parser.add_argument("--shared", action="store_true")
    parser.add_argument("--reuse-loaded-store", action="store_true")
    args = parser.parse_args(argv)
    store = store_class(args.store)(args.path)
    mutate = mutator(args.key, args.shared)
    rounds = range(args.updates) if args.updates else itertools.count()
    try:
        for _ in rounds:
            base = store.load() if args.reuse_loaded_store else None
            store.update(mutate, base_store=base)
    except StoreError as exc:
        print(f"stress worker: {exc}", file=sys.stderr)
        return WRITER_STORE_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
