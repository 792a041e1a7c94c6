"""What breaks the worker protocol or the store contract in one checked run. Pure: a
`WorkerCheckRun` in, findings out (`harness check-worker`).

The protocol (docs/worker-protocol.md): `hello` first with protocol 1, every message with its
fields of the right types, cycles numbered 1..N, a sample at cycle 0, after every K-th cycle and
after the last, `done` with N, and exit code 0. The contract (docs/store-interface.md): every
load returns the file's entries (the optional `entries` of each cycle message), every update
persists the fields it set (each of the last T cycles' values in its own entry, since no later
cycle touched that key), no other entry changes, the file stays a JSON object of objects, and
`wrote` is true for an update that changed the store.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from session_store_harness.errors import WORKER_STORE_ERROR
from session_store_harness.measuring.preflight import error_line
from session_store_harness.measuring.worker_check import WorkerCheckRun
from session_store_harness.worker.protocol import TIMESTAMP_FIELD, touch_value

_NUMBER = (int, float)
# Each message's fields and the types they may hold (bool is not a number here).
FIELD_TYPES: dict[str, dict[str, tuple[type, ...]]] = {
    "hello": {"protocol": (int,), "pid": (int,), "runtime": (str,), "heap_measure": (str,)},
    "cycle": {"cycle": (int,), "load_ms": _NUMBER, "update_ms": _NUMBER, "wrote": (bool,),
              "reused_base": (bool,)},
    "pretrim": {"cycle": (int,)},
    "sample": {"cycle": (int,), "elapsed_ms": _NUMBER, "heap_bytes": (int,),
               "external_bytes": (int,), "store_bytes": (int,)},
    "done": {"cycles": (int,)},
    "error": {"message": (str,)},
}
OPTIONAL_TYPES: dict[str, dict[str, tuple[type, ...]]] = {
    "cycle": {"entries": (int,)},
    "sample": {"heap_peak_bytes": (int, type(None))},
}


@dataclass(frozen=True)
class Finding:
    """One broken rule: `rule` names it (protocol, exit, store, load, update, file), `detail`
    how; findings of one `kind` are the same break, seen on another cycle or entry."""

    rule: str
    detail: str
    kind: str = ""

    def line(self) -> str:
        return f"{self.rule}: {self.detail}"


@dataclass(frozen=True)
class WorkerVerdict:
    """The findings, and what held (for the all-clear line)."""

    findings: tuple[Finding, ...]
    cycles: int  # cycle messages received
    samples: int
    entries_checked: bool  # whether the worker reported its loads' entry counts

    @property
    def ok(self) -> bool:
        return not self.findings


def judge_worker(check: WorkerCheckRun) -> WorkerVerdict:
    """Every rule `check` breaks, the first few occurrences of each."""
    found = [*_ending(check), *_protocol(check), *_loads(check), *_file(check)]
    cycles = [m for m in check.messages if m.get("type") == "cycle"]
    return WorkerVerdict(tuple(found), len(cycles),
                         sum(m.get("type") == "sample" for m in check.messages),
                         any("entries" in m for m in cycles))


def _ending(check: WorkerCheckRun) -> Iterator[Finding]:
    run, worker = check.run, check.run.worker
    errors = [m["message"] for m in check.messages if m.get("type") == "error"]
    for message in errors:
        yield Finding("store", f"the worker reported an error: {message}")
    # the runner's word for how the exchange ended, unless the exit code says it below
    if run.error and not errors and not run.error.startswith(("worker exited with code",
                                                              "worker killed by")):
        yield Finding("protocol" if "protocol" in run.error else "exit", run.error)
    # a worker the runner killed (after a broken message, at the timeout) did not fail itself
    killed_by_runner = run.error is not None and not run.error.startswith("worker killed by")
    # and after an `error` message, exit code 10 is the protocol's own way to end
    as_told = bool(errors) and worker.exit_code == WORKER_STORE_ERROR
    if worker.exit_code not in (0, None) and not as_told \
            and not (worker.exit_code < 0 and killed_by_runner):
        how = (f"was killed by signal {-worker.exit_code}" if worker.exit_code < 0
               else f"exited with code {worker.exit_code}")
        said = error_line(worker.stderr_tail)
        yield Finding("exit", f"the worker {how}" + (f" (stderr: {said[:200]})"
                                                     if said else ""))


def _protocol(check: WorkerCheckRun) -> Iterator[Finding]:
    messages, config = check.messages, check.config
    if not messages:
        return
    if messages[0]["type"] != "hello":
        yield Finding("protocol", f"the first message is {messages[0]['type']}, not hello")
    if not any(m["type"] == "hello" for m in messages):
        yield Finding("protocol", "no hello message")
    # a hello of another protocol version stops the runner, whose error says so (`_ending`)
    for index, message in enumerate(messages, start=1):
        yield from _field_types(index, message)
    if check.run.status == "complete" or any(m["type"] == "done" for m in messages):
        yield from _sequence(messages, config.cycles, config.sample_every)


def _field_types(index: int, message: dict[str, Any]) -> Iterator[Finding]:
    kind = message["type"]
    expected = {**FIELD_TYPES[kind], **{name: kinds for name, kinds in
                                        OPTIONAL_TYPES.get(kind, {}).items() if name in message}}
    for name, kinds in expected.items():
        value = message[name]
        if not isinstance(value, kinds) or (bool not in kinds and isinstance(value, bool)):
            names = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
            yield Finding("protocol", f"message {index} ({kind}): {name} is {value!r}, "
                          f"not {names}", f"type-{kind}-{name}")
        elif isinstance(value, _NUMBER) and not isinstance(value, bool) and value < 0:
            yield Finding("protocol", f"message {index} ({kind}): {name} is negative "
                          f"({value!r})", f"negative-{kind}-{name}")


def _sequence(messages: tuple[dict[str, Any], ...], cycles: int,
              sample_every: int) -> Iterator[Finding]:
    got_cycles = [m.get("cycle") for m in messages if m["type"] == "cycle"]
    if got_cycles != list(range(1, cycles + 1)):
        yield Finding("protocol", f"cycle messages numbered {_short(got_cycles)}, not 1 to "
                      f"{cycles} in order")
    wanted = [0, *(c for c in range(1, cycles + 1) if c % sample_every == 0 or c == cycles)]
    got_samples = [m.get("cycle") for m in messages if m["type"] == "sample"]
    if got_samples != wanted:
        yield Finding("protocol", f"samples at cycles {_short(got_samples)}, not "
                      f"{_short(wanted)} (cycle 0, every {sample_every}th, and the last)")
    done = [m for m in messages if m["type"] == "done"]
    if not done:
        yield Finding("protocol", "no done message")
    elif done[0].get("cycles") != cycles or messages[-1]["type"] != "done":
        yield Finding("protocol", f"done says {done[0].get('cycles')!r} cycles of {cycles}, "
                      "or is not the last message")


def _loads(check: WorkerCheckRun) -> Iterator[Finding]:
    held = len(check.original)
    for message in check.messages:
        entries = message.get("entries") if message["type"] == "cycle" else None
        if isinstance(entries, int) and not isinstance(entries, bool) and entries != held:
            yield Finding("load", f"cycle {message.get('cycle')}'s load returned {entries} "
                          f"entries; the file held {held}", "entries")


def _file(check: WorkerCheckRun) -> Iterator[Finding]:
    if check.final is None:
        yield Finding("file", f"the store file is no longer a store: {check.final_problem}")
        return
    cycles = [m for m in check.messages if m["type"] == "cycle"]
    yield from _reported_writes(check, cycles)
    if check.run.status == "complete":  # a worker stopped midway may have updated once more
        # warm-up cycles update the store too, numbered before cycle 1 (the values count them)
        yield from _persisted(check, check.config.warmup_cycles + len(cycles))


def _persisted(check: WorkerCheckRun, ran: int) -> Iterator[Finding]:
    """The last T of the `ran` updates each touched a key no later one touched: each one's
    values must be in the file, in an entry of its own; no other entry may change, and none
    may vanish."""
    original, final, fields = check.original, check.final or {}, check.config.touch_fields
    lasting = range(max(1, ran - min(check.config.touch_keys, len(original)) + 1), ran + 1)
    changed = [key for key, entry in final.items() if original.get(key) != entry]
    if any(f != TIMESTAMP_FIELD for f in fields):
        by_cycle = {cycle: key for key in changed
                    if (cycle := _cycle_of(final[key], fields, lasting)) is not None}
        for cycle in lasting:
            if cycle not in by_cycle:
                yield Finding("update", f"cycle {cycle}'s update is not in the file: no entry "
                              f"holds {_expected(fields, cycle)}", "not-persisted")
        for key in changed:
            if key not in by_cycle.values():
                what = "is new" if key not in original else "changed"
                yield Finding("update", f"entry {key!r} {what}, yet no cycle's update "
                              "explains it", "unexplained")
    elif len(changed) != len(lasting):  # only the timestamp: entries can be counted only
        yield Finding("update", f"{len(changed)} entries changed; the last {len(lasting)} "
                      "cycles each updated one of their own")
    missing = [key for key in original if key not in final]
    if missing:
        yield Finding("update", f"{len(missing)} entr{'y' if len(missing) == 1 else 'ies'} "
                      f"vanished from the file (first: {missing[0]!r})")
    if TIMESTAMP_FIELD in fields:
        for key in changed:
            if not _recent(final[key].get(TIMESTAMP_FIELD), check):
                yield Finding("update", f"entry {key!r}: {TIMESTAMP_FIELD} "
                              f"{final[key].get(TIMESTAMP_FIELD)!r} is not a time during the "
                              "run", "timestamp")


def _cycle_of(entry: Any, fields: tuple[str, ...], cycles: range) -> int | None:
    """The cycle whose values `entry` holds in every touched field but the timestamp."""
    named = [f for f in fields if f != TIMESTAMP_FIELD]
    for cycle in cycles:
        if all(entry.get(f) == touch_value(f, cycle, 0) for f in named):
            return cycle
    return None


def _expected(fields: tuple[str, ...], cycle: int) -> str:
    return ", ".join(f"{f}={touch_value(f, cycle, 0)!r}" for f in fields
                     if f != TIMESTAMP_FIELD) or f"a fresh {TIMESTAMP_FIELD}"


def _recent(value: Any, check: WorkerCheckRun) -> bool:
    return isinstance(value, int) and check.started_ms <= value <= check.finished_ms


def _reported_writes(check: WorkerCheckRun,
                     cycles: list[dict[str, Any]]) -> Iterator[Finding]:
    # each cycle sets values no earlier cycle set (its own number), so every update changes
    # the store, and a store that reports it wrote nothing is wrong about itself
    for message in cycles:
        if message.get("wrote") is False:
            yield Finding("update", f"cycle {message.get('cycle')} reported wrote=false, but "
                          "its update changed the store", "wrote")


def _short(values: list[Any]) -> str:
    shown = ", ".join(map(repr, values[:8]))
    return f"[{shown}{', ...' if len(values) > 8 else ''}]"
