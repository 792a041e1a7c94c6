"""The measured process: load and update a store for N cycles, reporting samples on a pipe.

Run as `python -P -m session_store_harness.worker ...` by the runner. Standard library only, so
that the worker's own footprint stays small beside the store's; the runner measures RSS from
outside. The store is a built-in or a user's class (`store_loader.py`); whatever a user's store
raises is reported as the store's error, its traceback left on stderr.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from session_store_harness.errors import WORKER_STORE_ERROR
from session_store_harness.stores import StoreError
from session_store_harness.stores.base import SessionMap, UpdateOutcome
from session_store_harness.worker.heap import METERS, libc
from session_store_harness.worker.protocol import (
    DEFAULT_TOUCH_FIELDS,
    DEFAULT_WORKLOAD,
    PROTOCOL_VERSION,
    WORKLOADS,
    WorkerChannel,
    parse_touch_fields,
    touch_value,
)
from session_store_harness.worker.store_loader import (
    EntryApi,
    entry_api,
    entry_mutation,
    load_store_class,
    update_outcome,
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m session_store_harness.worker")
    parser.add_argument("--store", required=True)
    parser.add_argument("--path", required=True, type=Path)
    parser.add_argument("--cycles", required=True, type=int)
    parser.add_argument("--sample-every", required=True, type=int)
    parser.add_argument("--touch-keys", type=int, default=400)
    parser.add_argument("--touch-fields", type=_touch_fields,
                        default=DEFAULT_TOUCH_FIELDS)
    parser.add_argument("--python-path", action="append", default=[])
    parser.add_argument("--reuse-loaded-store", action="store_true")
    parser.add_argument("--workload", choices=WORKLOADS, default=DEFAULT_WORKLOAD)
    parser.add_argument("--warmup-cycles", type=int, default=0)
    parser.add_argument("--trim", action="store_true")
    parser.add_argument("--heap", choices=sorted(METERS), default="allocator")
    parser.add_argument("--msg-fd", type=int, default=3)
    parser.add_argument("--ack-fd", type=int, default=4)
    return parser.parse_args(argv)


def _touch_fields(text: str) -> tuple[str, ...]:
    try:
        return parse_touch_fields(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def touch(key: str, cycle: int, fields: tuple[str, ...] = DEFAULT_TOUCH_FIELDS
          ) -> Callable[[SessionMap], None]:
    """The cycle's mutation: set `fields` of one entry (by default as in the fix's stress
    test: `updatedAt`, `lastTo`, `label`; values from `touch_value`): the entry workload's
    mutation, applied to the whole store as the loaders' fallback applies it."""
    return entry_mutation(key, touch_entry(cycle, fields))


def touch_entry(cycle: int, fields: tuple[str, ...] = DEFAULT_TOUCH_FIELDS):
    """The entry workload's mutation: the same fields set as `touch`'s, on the one entry
    `update_entry` hands over (created when the key is gone), returned."""

    def mutate(entry: dict | None) -> dict:
        if entry is None:
            entry = {"sessionId": f"harness-{cycle}"}
        now_ms = int(time.time() * 1000)
        for field in fields:
            entry[field] = touch_value(field, cycle, now_ms)
        return entry

    return mutate


def trim_memory() -> None:
    """Collect garbage and hand free heap pages back to the OS (glibc `malloc_trim(0)`)."""
    gc.collect()
    malloc_trim = getattr(libc(), "malloc_trim", None)  # glibc only
    if malloc_trim is not None:
        malloc_trim(0)


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_runner(channel: WorkerChannel) -> bool:
    """Exit as soon as the runner does, whatever the worker is doing (a long warm-up too).

    The runner starts the worker in a session of its own so that a Ctrl-C meant for the runner
    reaches it alone; so when the runner itself is killed (SIGKILL, the OOM killer) nothing
    stops the worker. On Linux the kernel kills it the moment its parent exits
    (`PR_SET_PDEATHSIG`), and the one check here covers a runner gone before the call. True
    when the kernel watches; otherwise the message pipe is checked before every cycle
    (`run_cycles`), work that would otherwise sit in each cycle's measured process for nothing.
    """
    prctl = getattr(libc(), "prctl", None)  # Linux only
    watched = prctl is not None and prctl(PR_SET_PDEATHSIG, signal.SIGKILL) == 0
    channel.exit_if_runner_gone()
    return watched


def store_bytes(path: Path) -> int:
    """The store file's size; a file gone from under the worker is the store's error."""
    try:
        return os.stat(path).st_size
    except OSError as exc:
        raise StoreError(f"{path}: store file does not exist or cannot be read "
                         f"({exc.strerror})") from None


class CycleRunner:
    """One store, one cycle at a time: load, then update one key, timing both (`full`); or
    get one key's entry, then update that entry (`entry`)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.store = load_store_class(args.store, args.python_path)(args.path)
        self.keys: list[str] = []
        self.count = 0
        self.entries: int | None = 0  # how many entries the last load returned
        self.api: EntryApi | None = None
        if args.workload == "entry":
            self.api = entry_api(self.store)
            self.entries = None  # no cycle loads the whole store

    def learn_keys(self) -> None:
        """The entry workload's keys, by the rule of the full one (the first `--touch-keys`
        of a load): one load before warm-up and sample 0, in no timing, its memory collected
        before the first sample. A gateway knows its session's key from the message."""
        loaded = self.store.load()
        self.keys = list(itertools.islice(loaded, self.args.touch_keys))
        del loaded
        if not self.keys:
            raise StoreError(f"{self.args.path}: store has no entries to update")
        trim_memory()

    def cycle(self) -> tuple[float, float, UpdateOutcome]:
        self.count += 1
        if self.api is not None:
            return self.entry_cycle(self.api)
        started = time.perf_counter()
        loaded = self.store.load()
        loaded_at = time.perf_counter()
        self.entries = len(loaded)  # before update() can add a key; len() of a dict is O(1)
        if not self.keys:
            self.keys = list(itertools.islice(loaded, self.args.touch_keys))
            if not self.keys:
                raise StoreError(f"{self.args.path}: store has no entries to update")
        base = loaded if self.args.reuse_loaded_store else None
        key = self.keys[(self.count - 1) % len(self.keys)]
        returned = self.store.update(touch(key, self.count, self.args.touch_fields),
                                     base_store=base)
        finished = time.perf_counter()
        del loaded, base  # the caller drops its snapshot at the end of each cycle
        outcome = update_outcome(returned)  # an UpdateOutcome as it is; a user's looser one read
        return (loaded_at - started) * 1000, (finished - loaded_at) * 1000, outcome

    def entry_cycle(self, api: EntryApi) -> tuple[float, float, UpdateOutcome]:
        key = self.keys[(self.count - 1) % len(self.keys)]
        started = time.perf_counter()
        entry = api.get(key)
        got_at = time.perf_counter()
        returned = api.update_entry(key, touch_entry(self.count, self.args.touch_fields))
        finished = time.perf_counter()
        del entry  # the caller drops what it read at the end of each cycle
        return (got_at - started) * 1000, (finished - got_at) * 1000, update_outcome(returned)


def run_cycles(args: argparse.Namespace, channel: WorkerChannel, meter,
               kernel_watches: bool = False) -> None:
    runner = CycleRunner(args)
    if runner.api is not None:
        channel.send({"type": "entry_api", **runner.api.paths})
        runner.learn_keys()
    elapsed_ms = 0.0
    check_runner = (lambda: None) if kernel_watches else channel.exit_if_runner_gone

    def sample(cycle: int) -> None:
        if args.trim:
            channel.send({"type": "pretrim", "cycle": cycle})
            trim_memory()
        heap_bytes, external_bytes = meter.read()
        # after the resting figure: the peak since the previous sample covers it, and from
        # sample 0 on, warm-up is left out of it
        channel.send({"type": "sample", "cycle": cycle, "elapsed_ms": elapsed_ms,
                      "heap_bytes": heap_bytes, "external_bytes": external_bytes,
                      "store_bytes": store_bytes(args.path), "heap_peak_bytes": meter.peak()})

    for _ in range(args.warmup_cycles):  # warm-up cycles are run, never reported
        check_runner()
        runner.cycle()
    sample(0)
    for cycle in range(1, args.cycles + 1):
        check_runner()  # outside the timed cycle: not in elapsed_ms
        load_ms, update_ms, outcome = runner.cycle()
        elapsed_ms += load_ms + update_ms  # measuring time is kept out of elapsed_ms
        message = {"type": "cycle", "cycle": cycle, "load_ms": load_ms,
                   "update_ms": update_ms, "wrote": outcome.wrote,
                   "reused_base": outcome.reused_base}
        if runner.entries is not None:
            message["entries"] = runner.entries
        channel.send(message)
        if cycle % args.sample_every == 0 or cycle == args.cycles:
            sample(cycle)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    channel = WorkerChannel(args.msg_fd, args.ack_fd)
    kernel_watches = die_with_runner(channel)
    meter = METERS[args.heap]()
    channel.send({"type": "hello", "protocol": PROTOCOL_VERSION, "pid": os.getpid(),
                  "runtime": f"{sys.implementation.name} {sys.version.split()[0]}",
                  "heap_measure": meter.name})
    try:
        run_cycles(args, channel, meter, kernel_watches)
    except StoreError as exc:
        channel.send({"type": "error", "message": str(exc)})
        return WORKER_STORE_ERROR
    except OSError as exc:  # the disk under the store is full, say: a fact, not a traceback
        channel.send({"type": "error", "message": f"{args.path}: {exc.strerror or exc}"})
        return WORKER_STORE_ERROR
    except Exception as exc:  # a user's store failing its own way: the store's error all the same
        import traceback  # only here: an import the worker's figures would otherwise carry

        traceback.print_exc()  # on stderr, kept in the run folder
        text = " ".join(str(exc).split())
        channel.send({"type": "error", "message": f"the store raised {type(exc).__name__}"
                      f"{': ' + text if text else ''} (traceback in the worker's stderr)"})
        return WORKER_STORE_ERROR
    channel.send({"type": "done", "cycles": args.cycles})
    return 0


if __name__ == "__main__":
    sys.exit(main())
