"""Reads the whole file on every load; writes the whole file through a temporary file and an
atomic `os.replace`, under a lock, so a concurrent writer's change is never lost and a reader
never sees half a file."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


class WholeFileJsonStore:
    """The interface of docs/store-interface.md: load, update, save."""

    def __init__(self, path: str | os.PathLike[str], env: dict[str, str] | None = None) -> None:
        self.path = Path(path)
        self.lock = self.path.with_name(self.path.name + ".lock")

    def load(self) -> dict[str, Any]:
        return json.loads(self.path.read_text())

    def update(self, mutator: Callable[[dict[str, Any]], object],
               base_store: dict[str, Any] | None = None) -> dict[str, bool]:
        # base_store is ignored: re-reading under the lock is what keeps others' changes
        with self.lock.open("a") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            store = self.load()
            mutator(store)
            self._write(store)
        return {"wrote": True, "reused_base": False}

    def save(self, store: dict[str, Any]) -> None:
        with self.lock.open("a") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            self._write(store)

    def _write(self, store: dict[str, Any]) -> None:
        temporary = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(store, indent=2))
        os.replace(temporary, self.path)  # atomic: the old file or the new one, never half
