"""A driver process for `harness conform`: loads the store under test and does what it is told.

Run as `python -P -m session_store_harness.worker.conform_driver --store SPEC --path FILE
--in-fd N --out-fd M [--python-path DIR ...]`. Standard library only (the store under test
brings its own imports); its Node twin is `stores/node/conform_driver.mjs`. The harness judges;
the driver only performs one operation per request and says what happened.

Requests arrive one JSON object a line on the `--in-fd` pipe, answers leave the same way on
`--out-fd`, so whatever the store prints (stdout, stderr) cannot corrupt the exchange. The
first answer is unasked: `{"ok": true, "hello": {...}}`, or `{"ok": false, "error": ...}` and
exit DRIVER_BAD_STORE when the spec does not resolve. The operations (docs/conformance.md,
"The driver protocol"):

- `{"op": "load", "keep": NAME?, "reply": bool}`: `load()`; keep the result under NAME and/or
  send it back as `"store"`.
- `{"op": "scribble", "handle": NAME}`: change a kept result as a caller may (a new key, a
  changed field in an entry and in a nested object, a deleted key).
- `{"op": "update", "set": {KEY: {FIELD: VALUE}}, "delete": [KEY], "base": NAME?}`:
  `update(mutator, base_store=kept[NAME])`, the mutator merging `set` and removing `delete`.
- `{"op": "save", "store": {...}}`: `save(store)`.
- `{"op": "get", "key": KEY}`: `get(key)`, sent back as `"entry"` (null when absent).
- `{"op": "update_entry", "key": KEY, "set": {FIELD: VALUE}}`: `update_entry(key, mutator)`,
  the mutator merging `set` into the entry (a new one when absent) and returning it.
- `{"op": "exit"}`.

A store error is an answer, `{"ok": false, "error": "Type: message"}`, and the driver goes on.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from session_store_harness.errors import DRIVER_BAD_STORE
from session_store_harness.worker.store_loader import entry_api, load_store_class

SCRIBBLE_KEY = "conform:scribbled"
SCRIBBLE_FIELD = "conformScribble"


def mutation(changes: dict[str, Any]) -> Callable[[dict], None]:
    """The mutator a request describes: merge `set` into entries, then remove `delete`."""
    def mutate(store: dict) -> None:
        for key, fields in changes.get("set", {}).items():
            store.setdefault(key, {}).update(fields)
        for key in changes.get("delete", []):
            store.pop(key, None)
    return mutate


def entry_mutation(fields: dict[str, Any]) -> Callable[[dict | None], dict]:
    """The entry mutator an `update_entry` request describes: merge `fields` into the entry."""
    def mutate(entry: dict | None) -> dict:
        entry = {} if entry is None else entry
        entry.update(fields)
        return entry
    return mutate


def scribble(store: dict) -> None:
    """What a careless caller does to a loaded store: it owns it, so it may."""
    if store:
        first = store[next(iter(store))]
        first[SCRIBBLE_FIELD] = True
        nested = next((v for v in first.values() if isinstance(v, dict)), None)
        if nested is not None:
            nested[SCRIBBLE_FIELD] = True
        del store[next(reversed(store))]
    store[SCRIBBLE_KEY] = {"sessionId": SCRIBBLE_KEY}


def outcome(value: object) -> object:
    """An update's return value as JSON: `UpdateOutcome` fields, or its repr."""
    if hasattr(value, "wrote"):
        return {"wrote": value.wrote, "reused_base": getattr(value, "reused_base", None)}
    return value if value is None or isinstance(value, bool | int | str) else repr(value)


class Driver:
    """One store instance and the loaded stores the harness asked it to keep."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.entry = entry_api(store)
        self.kept: dict[str, Any] = {}

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "load":
            loaded = self.store.load()
            if request.get("keep"):
                self.kept[request["keep"]] = loaded
            return {"store": loaded} if request.get("reply") else {}
        if op == "scribble":
            scribble(self.kept[request["handle"]])
            return {}
        if op == "update":
            base = self.kept[request["base"]] if request.get("base") else None
            return {"outcome": outcome(self.store.update(mutation(request), base_store=base))}
        if op == "save":
            self.store.save(request["store"])
            return {}
        if op == "get":
            return {"entry": self.entry.get(request["key"])}
        if op == "update_entry":
            return {"outcome": outcome(self.entry.update_entry(
                request["key"], entry_mutation(request.get("set", {}))))}
        raise ValueError(f"unknown op {op!r}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m session_store_harness.worker.conform_driver")
    parser.add_argument("--store", required=True)
    parser.add_argument("--path", required=True, type=Path)
    parser.add_argument("--in-fd", type=int, required=True)
    parser.add_argument("--out-fd", type=int, required=True)
    parser.add_argument("--python-path", action="append", default=[])
    return parser.parse_args(argv)


def send(out: BinaryIO, answer: dict[str, Any]) -> None:
    # ASCII with \u escapes: a lone surrogate in a store crosses the pipe as JSON writes it
    out.write(json.dumps(answer).encode("ascii") + b"\n")
    out.flush()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with os.fdopen(args.in_fd, "rb") as requests, os.fdopen(args.out_fd, "wb") as out:
        try:
            store = load_store_class(args.store, args.python_path)(args.path)
        except Exception as exc:  # whatever the user's module raised while loading
            send(out, {"ok": False, "error": f"{type(exc).__name__}: {exc}"})
            return DRIVER_BAD_STORE
        driver = Driver(store)
        send(out, {"ok": True, "hello": {"store": args.store, "pid": os.getpid(),
                                         "runtime": f"python {sys.version.split()[0]}",
                                         "save": callable(getattr(store, "save", None)),
                                         "entry_api": driver.entry.paths}})
        for line in requests:
            request = json.loads(line)
            if request.get("op") == "exit":
                break
            try:
                send(out, {"ok": True, **driver.handle(request)})
            except Exception as exc:  # the store's failure is the harness's evidence
                send(out, {"ok": False, "error": f"{type(exc).__name__}: {exc}"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
