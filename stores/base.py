"""The interface every store under test implements, and the error it raises.

It is also the public interface of a user's own store (`--store file.py:Class`, `module:Class`,
an entry point): docs/store-interface.md documents it, with the looser return values the worker
accepts from `update` (`worker/store_loader.py`). A user's class need not import this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

SessionMap = dict[str, Any]
Mutator = Callable[[SessionMap], None]


class StoreError(Exception):
    """A store could not do what was asked; the message names the file and the problem."""


class LockTimeout(StoreError):
    """The store's lock stayed held past the timeout, so the caller gave up: told apart from
    other store errors because under heavy contention it is the lock's design, not a fault."""


@dataclass(frozen=True)
class UpdateOutcome:
    """What one `update` did, so runs can show whether the write or the reuse happened."""

    wrote: bool
    reused_base: bool


class SessionStore(Protocol):
    """A `sessions.json` store: load the whole map, update it under a lock, save it."""

    name: ClassVar[str]

    def __init__(self, path: Path, env: Mapping[str, str] | None = None) -> None: ...

    def load(self) -> SessionMap:
        """Return the whole store; the caller owns the returned object."""
        ...

    def update(self, mutator: Mutator, base_store: SessionMap | None = None) -> UpdateOutcome:
        """Apply `mutator` to the current store under the lock and persist the result.

        `base_store` is a store this instance returned from `load`; a store may reuse it
        instead of parsing the file again, but only when the file has not changed since.
        """
        ...

    def save(self, store: SessionMap) -> None:
        """Replace the whole store under the lock."""
        ...
