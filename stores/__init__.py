"""Session store implementations under test, by name. Standard library only.

The registry imports a store's module when the store is asked for: a measured worker runs one
store, and every module it imports but does not run (latefile's blobs, sqlite's import) would
sit in the RSS it reports.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from session_store_harness.stores.base import (
    LockTimeout,
    SessionStore,
    StoreError,
    UpdateOutcome,
)

# name -> (module under session_store_harness.stores, class)
_PLACES: dict[str, tuple[str, str]] = {
    "wholefile": ("wholefile", "WholeFileStore"),
    "snapshot": ("snapshot", "SnapshotStore"),
    "snapshot-lean": ("snapshot_lean", "LeanSnapshotStore"),
    "ballast": ("ballast", "BallastStore"),
    "padded": ("padded", "PaddedStore"),
    "latefile": ("latefile", "LateFileStore"),
    "sqlite": ("sqlite", "SqliteStore"),
}


class _Registry(Mapping[str, type[SessionStore]]):
    """The built-in stores by name; a store's module is imported on first look-up."""

    def __getitem__(self, name: str) -> type[SessionStore]:
        module, attribute = _PLACES[name]
        return getattr(importlib.import_module(f"{__name__}.{module}"), attribute)

    def __iter__(self) -> Iterator[str]:
        return iter(_PLACES)

    def __len__(self) -> int:
        return len(_PLACES)


STORES: Mapping[str, type[SessionStore]] = _Registry()


def store_class(name: str) -> type[SessionStore]:
    if name not in STORES:
        raise StoreError(f"unknown store {name!r}; built-in: {', '.join(sorted(STORES))}")
    return STORES[name]


__all__ = ["STORES", "LockTimeout", "SessionStore", "StoreError", "UpdateOutcome", "store_class"]
