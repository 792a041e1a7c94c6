"""The store contract as rules: each a stable id, one line saying what it asks, and its check.

A check drives the store through driver processes (`Subject.driver`) and judges by reading
the file itself with the stress check's strict parser: a store never vouches for its own
output. It returns a `Verdict`: pass, fail or warn with the evidence, or skip with the reason.
A step the store could not do (it raised, its driver died or hung) fails the rule with that
step as the evidence. docs/conformance.md says why each rule matters for a sessions.json store.
"""

from __future__ import annotations

import copy
import os
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from session_store_harness.conformance.drivers import StepFailed
from session_store_harness.conformance.subject import Subject
from session_store_harness.measuring.persisted import JSON_FILE, Layout
from session_store_harness.measuring.strict import InvalidStore
from session_store_harness.stores import StoreError
from session_store_harness.stores.jsonfile import serialize_bytes
from session_store_harness.worker.conform_driver import mutation

PASS, FAIL, WARN, SKIP = "pass", "fail", "warn", "skip"
# What a rule adds to a store: lowercase keys, so the load-time migration leaves them alone.
PROBE = {"sessionId": "conform-probe", "updatedAt": 1_767_225_600_000, "label": "probe"}
# Values whose JSON text is easy to get wrong: non-ASCII, a line separator JSON.stringify
# leaves raw, numbers JavaScript prints its own way, nesting.
AWKWARD = {"sessionId": "conform-format", "text": "naïve ✓ \u2028 \"quoted\"\n",
           "ratio": 1.5, "tiny": 1e-7, "big": 10 ** 21, "flags": [True, False, None],
           "nested": {"list": [1, "two", {"three": 3}]}}


@dataclass(frozen=True)
class Verdict:
    """How a store fared on one rule, and the facts that show it."""

    status: str
    evidence: tuple[str, ...] = ()


def judged(problems: Sequence[str], warnings: Sequence[str] = (),
           facts: tuple[str, ...] = ()) -> Verdict:
    """Fail on any problem, else warn on any warning, else pass with the facts seen."""
    if problems:
        return Verdict(FAIL, (*problems, *warnings))
    return Verdict(WARN, tuple(warnings)) if warnings else Verdict(PASS, facts)


@dataclass(frozen=True)
class Rule:
    """One rule of the store contract."""

    id: str
    description: str
    check: Callable[[Subject], Verdict]


# ---- reading the file and comparing stores ----------------------------------------------------

def on_disk(path: Path, layout: Layout = JSON_FILE) -> dict[str, Any]:
    """The store on disk (its file; for some designs blobs or a database beside it, read by
    `measuring/persisted.py`), or `StepFailed` saying why it is not one."""
    try:
        return layout.read(path)
    except (InvalidStore, StoreError) as exc:
        raise StepFailed(f"the file is not a whole store: {exc}") from None


def difference(expected: Any, actual: Any, where: str = "store") -> str | None:
    """The first place two JSON values differ, in words; None if they are the same.

    true is not 1 here, as in JSON; 1 and 1.0 are the same number, as in JavaScript.
    """
    if isinstance(expected, dict) and isinstance(actual, dict):
        missing = [k for k in expected if k not in actual]
        extra = [k for k in actual if k not in expected]
        if missing or extra:
            return f"{where}: " + "; ".join(
                f"{len(keys)} key{'s' * (len(keys) != 1)} {what} (first {keys[0]!r})"
                for keys, what in ((missing, "missing"), (extra, "unexpected"))
                if keys)
        return next((found for key in expected if (found := difference(
            expected[key], actual[key], f"{where}[{key!r}]"))), None)
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return next((found for i, (e, a) in enumerate(zip(expected, actual, strict=True))
                     if (found := difference(e, a, f"{where}[{i}]"))), None)
    if isinstance(expected, bool) != isinstance(actual, bool) or expected != actual:
        return f"{where}: expected {_short(expected)}, found {_short(actual)}"
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 42 else text[:39] + "..."


def compare(problems: list[str], what: str, expected: Any, actual: Any) -> None:
    found = difference(expected, actual)
    if found:
        problems.append(f"{what}: {found}")


def applied(store: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """What `store` becomes under the update a driver makes of `changes`."""
    result = copy.deepcopy(store)
    mutation(changes)(result)
    return result


def first_text_field(entry: dict[str, Any]) -> str | None:
    """An entry's first field holding a non-empty ASCII string: it can change, size kept."""
    return next((k for k, v in entry.items() if isinstance(v, str) and v and v.isascii()),
                None)


# ---- the rules ---------------------------------------------------------------------------------

def load_roundtrip(subject: Subject) -> Verdict:
    path = subject.fresh_store("load-roundtrip")
    layout = subject.layout
    original, expected = FileState.of(path, layout), on_disk(path, layout)
    problems: list[str] = []
    with subject.driver(path) as driver:
        compare(problems, "load", expected, driver.do("load", keep="first", reply=True)["store"])
        driver.do("scribble", handle="first")
        compare(problems, "load after the caller changed what an earlier load returned",
                expected, driver.do("load", keep="second", reply=True)["store"])
        driver.do("scribble", handle="second")
        compare(problems, "load after the caller changed two loaded stores", expected,
                driver.do("load", reply=True)["store"])
        now = FileState.of(path, layout)
        # bytes where the files are the same ones; a database made from the file on the first
        # load (sqlite) is judged by what it holds
        if ((now.names == original.names and now.data != original.data)
                or difference(expected, on_disk(path, layout))):
            problems.append("changing what load returned changed the file")
        changes = {"set": {"conform:probe": PROBE}}
        driver.do("update", **changes)
    compare(problems, "the file after the next update (the caller's changes leaked into it)",
            applied(expected, changes), on_disk(path, layout))
    return judged(problems, facts=(f"{len(expected)} entries; 3 loads equal the file",))


def update_persists(subject: Subject) -> Verdict:
    path = subject.fresh_store("update-persists")
    before = on_disk(path, subject.layout)
    first, last = next(iter(before)), next(reversed(before))
    changes = {"set": {"conform:persisted": PROBE, first: {"label": "changed by conform"}},
               "delete": [last]}
    want = applied(before, changes)
    problems: list[str] = []
    with subject.driver(path) as writer:
        writer.do("update", **changes)
        compare(problems, "the file right after update returned", want,
                on_disk(path, subject.layout))
    with subject.driver(path) as reader:
        compare(problems, "load by a new store instance in a new process", want,
                reader.do("load", reply=True)["store"])
    return judged(problems, facts=("an added, a changed and a deleted entry, seen on disk and "
                                   "by a new process",))


NATIVE = "native"
ENTRY_KEY = "conform:entry"


def _entry_skip(subject: Subject, *methods: str) -> Verdict | None:
    """SKIP when the store has none of `methods` of its own: the workers' fallback over load
    and update is then what runs, and the rules on load and update already judge those."""
    if any(subject.entry_api.get(method) == NATIVE for method in methods):
        return None
    return Verdict(SKIP, (f"the store has no {' or '.join(methods)} of its own; --workload "
                          "entry uses the fallback over load and update, judged by the rules "
                          "above",))


def entry_update_persists(subject: Subject) -> Verdict:
    if skip := _entry_skip(subject, "get", "update_entry"):
        return skip
    path = subject.fresh_store("entry-update-persists")
    before = on_disk(path, subject.layout)
    first = next(iter(before))
    problems: list[str] = []
    want = applied(before, {"set": {first: {"label": "changed by update_entry"},
                                    ENTRY_KEY: PROBE}})
    with subject.driver(path) as writer:
        compare(problems, f"get({first!r})", before[first],
                writer.do("get", key=first)["entry"])
        if (absent := writer.do("get", key="conform:absent")["entry"]) is not None:
            problems.append(f"get of a key not in the store returned {_short(absent)}, not None")
        writer.do("update_entry", key=first, set={"label": "changed by update_entry"})
        writer.do("update_entry", key=ENTRY_KEY, set=PROBE)
        compare(problems, "the file right after update_entry returned", want,
                on_disk(path, subject.layout))
    with subject.driver(path) as reader:
        for key in (first, ENTRY_KEY):
            compare(problems, f"get({key!r}) by a new store instance in a new process",
                    want[key], reader.do("get", key=key)["entry"])
        compare(problems, "load by a new process after update_entry", want,
                reader.do("load", reply=True)["store"])
    api = ", ".join(f"{name} {how}" for name, how in subject.entry_api.items())
    return judged(problems, facts=(f"a changed and an added entry, seen on disk and by get in a "
                                   f"new process ({api})",))


def entry_no_lost_updates(subject: Subject) -> Verdict:
    if skip := _entry_skip(subject, "update_entry"):
        return skip
    result = subject.entry_writes
    problems: list[str] = []
    if result.lost:
        problems.append(f"{result.lost} of {result.completed_total} completed updates missing "
                        f"from the file (the shared counter has {result.shared_count})")
    for stopped, how in ((result.writer_failures, "failed"),
                         (result.timeouts, "gave up waiting for the lock, updates not made")):
        if stopped:
            problems.append(f"{len(stopped)} of {result.writers} writers {how}: {stopped[0]}")
    if result.invalid_reads:
        problems.append(f"{result.invalid_reads} of {result.reads} reads while writers wrote "
                        f"found no whole store ({result.first_invalid_read})")
    warnings = ([f"left in the folder after every writer exited: "
                 f"{', '.join(result.leftovers[:5])}"] if result.leftovers else [])
    return judged(problems, warnings, facts=(
        f"{result.writers} writers x {result.updates_each} update_entry pairs (own key, then "
        f"the shared one): all {result.completed_total} in the file, every read a whole store",))


def save_replaces(subject: Subject) -> Verdict:
    path = subject.fresh_store("save-replaces")
    problems: list[str] = []
    with subject.driver(path) as driver:
        if not driver.has_save:
            if subject.target.runtime == "node":
                return Verdict(SKIP, ("the store has no save(store); the Node adapter "
                                      "needs only load and update",))
            return Verdict(FAIL, ("the store has no save(store), part of the interface "
                                  "(stores/base.py)",))
        loaded = driver.do("load", reply=True)["store"]
        keys = list(loaded)
        replacement = {k: loaded[k] for k in keys[2:]} if len(keys) > 2 else {}
        replacement["conform:saved"] = PROBE
        driver.do("save", store=replacement)
        compare(problems, "the file after save", replacement, on_disk(path, subject.layout))
        compare(problems, "load after save", replacement, driver.do("load", reply=True)["store"])
    with subject.driver(path) as reader:
        compare(problems, "load by a new process after save", replacement,
                reader.do("load", reply=True)["store"])
    return judged(problems, facts=(f"a store of {len(replacement)} entries saved over "
                                   f"{len(keys)}",))


@dataclass(frozen=True)
class FileState:
    """What tells a rewritten file from an untouched one (for a database: its files)."""

    names: tuple[str, ...]
    inode: tuple[int, ...]
    mtime_ns: tuple[int, ...]
    data: tuple[bytes, ...]

    @classmethod
    def of(cls, path: Path, layout: Layout = JSON_FILE) -> FileState:
        files = layout.state_files(path)
        infos = [f.stat() for f in files]
        return cls(tuple(f.name for f in files), tuple(i.st_ino for i in infos),
                   tuple(i.st_mtime_ns for i in infos), tuple(f.read_bytes() for f in files))

    def changes(self, now: FileState) -> list[str]:
        if self.names != now.names:
            return [f"files {', '.join(self.names)} -> {', '.join(now.names)}"]
        later_ms = ((b - a) / 1e6 for a, b in zip(self.mtime_ns, now.mtime_ns, strict=True))
        return [what for what, differs in (
            (f"inode {_joined(self.inode)} -> {_joined(now.inode)}", self.inode != now.inode),
            (f"mtime +{_joined(later_ms)} ms", self.mtime_ns != now.mtime_ns),
            ("bytes changed" if self.data != now.data else "bytes identical", True),
        ) if differs]


def _joined(values: Any) -> str:
    return ", ".join(f"{v:.1f}" if isinstance(v, float) else str(v) for v in values)


def unchanged_not_rewritten(subject: Subject) -> Verdict:
    path = subject.fresh_store("unchanged-not-rewritten")
    store = on_disk(path, subject.layout)
    first = next(iter(store))
    same_values = {k: v for k, v in list(store[first].items())[:3]}
    problems: list[str] = []
    with subject.driver(path) as driver:
        driver.do("load", keep="base")
        for what, changes in (("changes nothing", {}),
                              ("sets fields to the values they have",
                               {"set": {first: same_values}}),
                              ("changes nothing, given the loaded store as base",
                               {"base": "base"})):
            before = FileState.of(path, subject.layout)
            time.sleep(0.02)  # past the file system's timestamp tick: a rewrite shows in mtime
            driver.do("update", **changes)
            now = FileState.of(path, subject.layout)
            if now != before:
                problems.append(f"an update whose mutator {what} rewrote the file: "
                                f"{', '.join(before.changes(now))}")
    return judged(problems, facts=("3 updates that change nothing (one with a base) left "
                                   "inode, mtime and bytes as they were",))


def base_reuse_safe(subject: Subject) -> Verdict:
    path = subject.fresh_store("base-reuse-safe")
    layout = subject.layout
    problems: list[str] = []
    with subject.driver(path) as mine:
        for step, (theirs, what) in enumerate(_their_changes(on_disk(path, layout)), start=1):
            found_by_both = on_disk(path, layout)
            mine.do("load", keep=f"base-{step}")
            size = path.stat().st_size
            with subject.driver(path) as other:
                other.do("update", **theirs)
            what += ", keeping the file's size," if path.stat().st_size == size else ""
            ours = {"set": {f"conform:mine-{step}": PROBE}}
            mine.do("update", base=f"base-{step}", **ours)
            found = difference(applied(applied(found_by_both, theirs), ours),
                               on_disk(path, layout))
            if found:
                problems.append(f"another process {what} after this one loaded; "
                                f"update(mutator, base_store=loaded) then wrote a file "
                                f"without it: {found}")
    return judged(problems, facts=("2 changes by another process between load and update "
                                   "survived, one of them of the same size",))


def _their_changes(store: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """What the other process does: rewrite a text field keeping the size, then add an entry.

    The first is what a store that checks only the file's size (or a coarse mtime) misses.
    """
    changes = []
    first = next(iter(store), None)
    field = first_text_field(store[first]) if first is not None else None
    if field is not None:
        old = store[first][field]
        new = ("y" if old[0] == "x" else "x") + old[1:]
        changes.append(({"set": {first: {field: new}}}, f"changed {first!r}.{field}"))
    changes.append(({"set": {"conform:other": PROBE}}, "added the entry 'conform:other'"))
    return changes


def file_mode(subject: Subject) -> Verdict:
    path = subject.fresh_store("file-mode")
    problems: list[str] = []
    with subject.driver(path) as driver:
        steps: list[tuple[str, Callable[[], object]]] = [
            ("update", lambda: driver.do("update", set={"conform:probe": PROBE}))]
        if driver.has_save:
            steps.append(("save", lambda: driver.do(
                "save", store=applied(on_disk(path, subject.layout),
                                      {"set": {"conform:saved": PROBE}}))))
        for what, step in steps:
            for file in subject.layout.files(path):
                os.chmod(file, 0o600)  # each step judged on its own, from the gateway's mode
            was = 0o600
            step()
            for file in subject.layout.files(path):  # the store's file, and its blobs or db
                now = stat.S_IMODE(file.stat().st_mode)
                name = "" if file == path else f"{file.relative_to(path.parent)} "
                if now & ~was:
                    problems.append(f"after {what}: {name}mode {now:04o}, wider than "
                                    f"{was:04o} ({_widened(now & ~was)})")
    return judged(problems, facts=(f"mode 0600 kept through {' and '.join(w for w, _ in steps)}"
                                   " (the driver's umask is 022)",))


def _widened(bits: int) -> str:
    who = [name for name, mask in (("owner", 0o700), ("group", 0o070), ("others", 0o007))
           if bits & mask]
    return "new permissions for " + ", ".join(who)


def file_format(subject: Subject) -> Verdict:
    path = subject.fresh_store("format")
    layout = subject.layout
    problems: list[str] = []
    warnings: list[str] = []
    with subject.driver(path) as driver:
        steps: list[tuple[str, Callable[[], object]]] = [
            ("update", lambda: driver.do("update", set={"conform:format": AWKWARD}))]
        if driver.has_save:
            steps.append(("save", lambda: driver.do("save", store=on_disk(path, layout))))
        for what, step in steps:
            step()
            try:
                on_disk(path, layout)  # whole and strictly valid, blobs or rows included
                data = layout.json_text(path)
                store = None if data is None else on_disk(path)  # the text as it is
            except StepFailed as exc:
                problems.append(f"after {what}: {exc}")
                continue
            if store is None:  # a database: its rows were read strictly, no text to lay out
                continue
            if (expected := serialize_bytes(store, path)) != data:
                note = f"after {what}: not the JSON.stringify(store, null, 2) text the " \
                       f"gateway writes ({_first_byte_difference(expected, data)})"
                (problems if subject.target.builtin else warnings).append(note)
    if layout.json_text(path) is None:
        return judged(problems, warnings, facts=(
            "every row one JSON object, read strictly (a database: no text to lay out)",))
    return judged(problems, warnings, facts=(
        "one JSON object of objects, byte for byte JSON.stringify(store, null, 2)",))


def _first_byte_difference(expected: bytes, data: bytes) -> str:
    at = next((i for i, (a, b) in enumerate(zip(expected, data, strict=False)) if a != b),
              min(len(expected), len(data)))
    line = data[:at].count(b"\n") + 1
    return (f"first difference at byte {at}, line {line}: expected "
            f"{expected[at:at + 20]!r}, found {data[at:at + 20]!r}")


def no_lost_updates(subject: Subject) -> Verdict:
    problems: list[str] = []
    warnings: list[str] = []
    for mode, result in subject.concurrent_writes.items():
        if result.lost:
            short = [f"{key} has {result.own_counts.get(key, 0)} of {done}"
                     for key, done in sorted(result.completed.items())
                     if result.own_counts.get(key, 0) < done]
            problems.append(f"{mode}: {result.lost} of {result.completed_total} completed "
                            f"updates missing from the file (the shared counter has "
                            f"{result.shared_count}; {', '.join(short[:3]) or 'no writer short'})")
        for stopped, how in ((result.writer_failures, "failed"),
                             (result.timeouts, "gave up waiting for the lock, updates not made")):
            if stopped:
                problems.append(f"{mode}: {len(stopped)} of {result.writers} writers {how}: "
                                f"{stopped[0]}")
        if result.leftovers:
            warnings.append(f"{mode}: left in the folder after every writer exited: "
                            f"{', '.join(result.leftovers[:5])}")
    total = sum(r.completed_total for r in subject.concurrent_writes.values())
    return judged(problems, warnings, facts=(
        f"{len(subject.concurrent_writes)} x {subject.writers} writers x {subject.updates} "
        f"updates ({' and '.join(subject.concurrent_writes)}): all {total} in the file",))


def atomic_replace(subject: Subject) -> Verdict:
    problems = [f"{mode}: {r.invalid_reads} of {r.reads} reads while writers wrote found no "
                f"whole store ({r.first_invalid_read})"
                for mode, r in subject.concurrent_writes.items() if r.invalid_reads]
    reads = sum(r.reads for r in subject.concurrent_writes.values())
    return judged(problems, facts=(f"{reads} reads during the writes, each a whole store",))


def crash_safe(subject: Subject) -> Verdict:
    if subject.crash_trials == 0:
        return Verdict(SKIP, ("--crash-trials 0",))
    problems: list[str] = []
    warnings: list[str] = []
    for mode, crash in subject.killed_writes.items():
        for count, what in (
                (crash.corrupt, f"left a file that is not the whole store "
                                f"({crash.first_corruption})"),
                (crash.went_backwards, "undid an update that had completed"),
                (crash.next_write_failures, "left the next writer unable to update the "
                                            "store (what the kill left behind blocks it)")):
            if count:
                problems.append(f"{mode}: {count} of {crash.trials} kills {what}")
        if crash.leftovers_after_next_write:
            warnings.append(f"{mode}: {crash.leftovers_after_next_write} files still in the "
                            "folder after the next writer's update")
    kills = sum(c.trials for c in subject.killed_writes.values())
    left = sum(sum(c.left_by_kill.values()) for c in subject.killed_writes.values())
    return judged(problems, warnings, facts=(
        f"{kills} writers killed: every file whole; the next writer always updated it"
        + (f" ({left} locks or temp files left by kills mid-update, cleared)" if left else ""),))


RULES: tuple[Rule, ...] = (
    Rule("load-roundtrip", "load returns the file's mapping exactly, and the caller owns what "
         "it returns", load_roundtrip),
    Rule("update-persists", "an update is on disk when it returns, and a new process loads it",
         update_persists),
    Rule("entry-update-persists", "get reads an entry; update_entry is on disk when it returns "
         "(own get/update_entry)", entry_update_persists),
    Rule("save-replaces", "save(store) then load returns what was saved", save_replaces),
    Rule("unchanged-not-rewritten", "an update that changes nothing leaves the file untouched",
         unchanged_not_rewritten),
    Rule("base-reuse-safe", "update with a loaded base keeps what another process wrote since "
         "that load", base_reuse_safe),
    Rule("file-mode", "update and save never widen the file's mode (0600)", file_mode),
    Rule("format", "the file stays one JSON object of objects (built-ins: JSON.stringify(store, "
         "null, 2))", file_format),
    Rule("no-lost-updates", "concurrent writer processes lose no completed update",
         no_lost_updates),
    Rule("entry-no-lost-updates", "concurrent writers lose no completed update_entry (own "
         "get/update_entry)", entry_no_lost_updates),
    Rule("atomic-replace", "a reader never sees a half-written file", atomic_replace),
    Rule("crash-safe", "a writer killed mid-write leaves a whole store and does not block the "
         "next one", crash_safe),
)
