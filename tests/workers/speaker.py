"""A tiny worker in plain Python that speaks docs/worker-protocol.md over a JSON-file store,
without the harness: what a user's `--worker-cmd` program looks like. `--break RULE` makes it
break one rule on purpose, for `harness check-worker`'s tests.

    python speaker.py [--break RULE] --store NAME --path P --cycles N --sample-every K ...
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

BREAKS = ("wrong-version", "missing-field", "wrong-type", "lose-update", "drop-entry",
          "not-json", "exit-nonzero", "no-done", "unknown-message")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--break", dest="broken", choices=BREAKS)
    parser.add_argument("--store", required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--cycles", type=int, required=True)
    parser.add_argument("--sample-every", type=int, required=True)
    parser.add_argument("--touch-keys", type=int, default=400)
    parser.add_argument("--touch-fields", default="updatedAt,lastTo,label")
    parser.add_argument("--warmup-cycles", type=int, default=0)
    parser.add_argument("--reuse-loaded-store", action="store_true")
    parser.add_argument("--trim", action="store_true")
    parser.add_argument("--heap", default="none")
    parser.add_argument("--msg-fd", type=int, default=3)
    parser.add_argument("--ack-fd", type=int, default=4)
    return parser.parse_args()


class Channel:
    def __init__(self, msg_fd: int, ack_fd: int) -> None:
        self.msg_fd, self.ack_fd = msg_fd, ack_fd

    def send(self, message: dict) -> None:
        os.write(self.msg_fd, (json.dumps(message) + "\n").encode())
        if message["type"] in ("pretrim", "sample", "done") and os.read(self.ack_fd, 1) != b"\n":
            sys.exit(11)


def value(field: str, count: int) -> object:
    if field == "updatedAt":
        return int(time.time() * 1000)
    return f"cycle {count}" if field == "label" else f"harness:{count}"


def main() -> int:
    args = parse_args()
    broken = args.broken
    channel = Channel(args.msg_fd, args.ack_fd)
    fields = args.touch_fields.split(",")
    channel.send({"type": "hello", "protocol": 2 if broken == "wrong-version" else 1,
                  "pid": os.getpid(), "runtime": f"speaker {sys.version.split()[0]}",
                  "heap_measure": "none"})
    keys: list[str] = []
    count = 0
    elapsed_ms = 0.0

    def cycle() -> tuple[float, float, int]:
        nonlocal keys, count
        count += 1
        started = time.perf_counter()
        with open(args.path, encoding="utf-8") as handle:
            store = json.load(handle)
        if broken == "drop-entry":
            store.pop(next(iter(store)))
        loaded = time.perf_counter()
        entries = len(store)
        keys = keys or list(store)[:args.touch_keys]
        entry = store.setdefault(keys[(count - 1) % len(keys)], {})
        for field in fields:
            entry[field] = value(field, count)
        if broken != "lose-update":
            with open(args.path + ".tmp", "w", encoding="utf-8") as handle:
                json.dump(store, handle, indent=2)
            os.replace(args.path + ".tmp", args.path)
        return (loaded - started) * 1000, (time.perf_counter() - loaded) * 1000, entries

    def sample(number: int) -> None:
        message = {"type": "sample", "cycle": number, "elapsed_ms": elapsed_ms,
                   "heap_bytes": 0, "external_bytes": 0,
                   "store_bytes": os.stat(args.path).st_size}
        if broken == "missing-field":
            del message["heap_bytes"]
        channel.send(message)

    for _ in range(args.warmup_cycles):
        cycle()
    sample(0)
    for number in range(1, args.cycles + 1):
        load_ms, update_ms, entries = cycle()
        elapsed_ms += load_ms + update_ms
        channel.send({"type": "cycle", "cycle": number,
                      "load_ms": str(load_ms) if broken == "wrong-type" else load_ms,
                      "update_ms": update_ms, "wrote": broken != "lose-update",
                      "reused_base": False, "entries": entries})
        if broken == "unknown-message":
            channel.send({"type": "progress", "cycle": number})
        if number % args.sample_every == 0 or number == args.cycles:
            sample(number)
    if broken == "not-json":
        with open(args.path, "a", encoding="utf-8") as handle:
            handle.write("\n// trailing comment\n")
    if broken != "no-done":
        channel.send({"type": "done", "cycles": args.cycles})
    return 3 if broken == "exit-nonzero" else 0


if __name__ == "__main__":
    sys.exit(main())
