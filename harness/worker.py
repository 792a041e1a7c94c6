"""The measured process: load and update a store for N cycles, reporting samples on a pipe.

Run as `python -m harness.worker ...` by the runner. Standard library only, so that the worker's
own footprint stays small beside the store's; the runner measures RSS from outside.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from pathlib import Path

from harness.heap import METERS
from harness.protocol import PROTOCOL_VERSION, WorkerChannel
from stores import StoreError, store_class
from stores.base import SessionMap

EXIT_STORE_ERROR = 3


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m harness.worker")
    parser.add_argument("--store", required=True)
    parser.add_argument("--path", required=True, type=Path)
    parser.add_argument("--cycles", required=True, type=int)
    parser.add_argument("--sample-every", required=True, type=int)
    parser.add_argument("--touch-keys", type=int, default=400)
    parser.add_argument("--reuse-loaded-store", action="store_true")
    parser.add_argument("--heap", choices=sorted(METERS), default="allocator")
    parser.add_argument("--msg-fd", type=int, default=3)
    parser.add_argument("--ack-fd", type=int, default=4)
    return parser.parse_args(argv)


def touch(key: str, cycle: int):
    """The cycle's mutation, as in the fix's stress test: `updatedAt`, `lastTo`, `label`."""

    def mutate(store: SessionMap) -> None:
        entry = store.setdefault(key, {"sessionId": f"harness-{cycle}"})
        entry["updatedAt"] = int(time.time() * 1000)
        entry["lastTo"] = f"harness:{cycle}"
        entry["label"] = f"cycle {cycle}"

    return mutate


def run_cycles(args: argparse.Namespace, channel: WorkerChannel, meter) -> None:
    store = store_class(args.store)(args.path)
    keys: list[str] = []
    elapsed_s = 0.0

    def sample(cycle: int) -> None:
        heap_bytes, external_bytes = meter.read()
        channel.send({"type": "sample", "cycle": cycle, "elapsed_ms": elapsed_s * 1000,
                      "heap_bytes": heap_bytes, "external_bytes": external_bytes,
                      "store_bytes": os.stat(args.path).st_size})

    sample(0)
    for cycle in range(1, args.cycles + 1):
        started = time.perf_counter()
        loaded = store.load()
        loaded_at = time.perf_counter()
        if not keys:
            keys = list(itertools.islice(loaded, args.touch_keys))
            if not keys:
                raise StoreError(f"{args.path}: store has no entries to update")
        base = loaded if args.reuse_loaded_store else None
        outcome = store.update(touch(keys[(cycle - 1) % len(keys)], cycle), base_store=base)
        del loaded, base  # the caller drops its snapshot at the end of each cycle
        finished = time.perf_counter()
        elapsed_s += finished - started  # measuring time is kept out of elapsed_ms
        channel.send({"type": "cycle", "cycle": cycle,
                      "load_ms": (loaded_at - started) * 1000,
                      "update_ms": (finished - loaded_at) * 1000,
                      "wrote": outcome.wrote, "reused_base": outcome.reused_base})
        if cycle % args.sample_every == 0 or cycle == args.cycles:
            sample(cycle)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    channel = WorkerChannel(args.msg_fd, args.ack_fd)
    meter = METERS[args.heap]()
    channel.send({"type": "hello", "protocol": PROTOCOL_VERSION, "pid": os.getpid(),
                  "runtime": f"{sys.implementation.name} {sys.version.split()[0]}",
                  "heap_measure": meter.name})
    try:
        run_cycles(args, channel, meter)
    except StoreError as exc:
        channel.send({"type": "error", "message": str(exc)})
        return EXIT_STORE_ERROR
    channel.send({"type": "done", "cycles": args.cycles})
    return 0


if __name__ == "__main__":
    sys.exit(main())
