"""Session store implementations under test, by name. Standard library only."""

from __future__ import annotations

from session_store_harness.stores.ballast import BallastStore
from session_store_harness.stores.base import (
    LockTimeout,
    SessionStore,
    StoreError,
    UpdateOutcome,
)
from session_store_harness.stores.latefile import LateFileStore
from session_store_harness.stores.padded import PaddedStore
from session_store_harness.stores.snapshot import SnapshotStore
from session_store_harness.stores.snapshot_lean import LeanSnapshotStore
from session_store_harness.stores.sqlite import SqliteStore
from session_store_harness.stores.wholefile import WholeFileStore

STORES: dict[str, type[SessionStore]] = {
    store.name: store for store in (WholeFileStore, SnapshotStore, LeanSnapshotStore,
                                    BallastStore, PaddedStore, LateFileStore, SqliteStore)
}


def store_class(name: str) -> type[SessionStore]:
    try:
        return STORES[name]
    except KeyError:
        raise StoreError(f"unknown store {name!r}; known: {', '.join(sorted(STORES))}") from None


__all__ = ["STORES", "LockTimeout", "SessionStore", "StoreError", "UpdateOutcome", "store_class"]
