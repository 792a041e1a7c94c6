"""A leaner fix than the real one: the size gate of `snapshot`, and an update that mutates the
caller's snapshot in place instead of checking, cloning and cloning it back.

This was this repository's model of the fix until it was measured against the real store
(docs/store-behaviour.md, "What the real store does per cycle"); it is kept as a design of its
own, so a report can show what the real fix costs and what a leaner one would save. A load
returns the parsed store itself (no clone) and remembers the size and SHA-256 of the bytes it
was parsed from; `update(..., base_store=s)` reuses `s` when the file's bytes under the lock
still hash to those bytes, runs the mutator on `s` itself and hashes what it wrote. It trusts
the caller not to have changed `s`: a caller's own changes to `s` are written along with the
mutator's. Delivery fields are not normalized. Per cycle on a large store: 2 reads, 1 parse,
3 digests, 1 stringify, no clone.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from session_store_harness.stores.base import Mutator, SessionMap, UpdateOutcome
from session_store_harness.stores.lock import store_lock
from session_store_harness.stores.snapshot import GatedCacheStore


class LeanSnapshot(dict):
    """A loaded store that remembers the bytes it was parsed from (by size and SHA-256)."""

    __slots__ = ("source_path", "source_sha256", "source_size")

    def __init__(self, store: SessionMap, source_path: Path, size: int, sha256: bytes) -> None:
        super().__init__(store)
        self.source_path = source_path
        self.remember_source(size, sha256)

    def remember_source(self, size: int, sha256: bytes) -> None:
        self.source_size = size
        self.source_sha256 = sha256


class LeanSnapshotStore(GatedCacheStore):
    """The fix as a lean model of it: reuse by mutating the caller's snapshot in place."""

    name: ClassVar[str] = "snapshot-lean"
    normalizes: ClassVar[bool] = False

    def load(self) -> LeanSnapshot:
        if self._cache_serves():
            text = self._serialized
            return LeanSnapshot(self._clone(self._cached.store), self.path, len(text),
                                self._digest(text))
        raw, stat = self._read()
        store = self._parse(raw)
        self._remember(store, raw, stat)
        return LeanSnapshot(store, self.path, len(raw), self._digest(raw))

    def update(self, mutator: Mutator, base_store: SessionMap | None = None) -> UpdateOutcome:
        with store_lock(self.path):
            raw, _ = self._read()
            reused = isinstance(base_store, LeanSnapshot) and self._parsed_from(base_store, raw)
            store = base_store if reused else self._parse(raw)
            mutator(store)
            written = self._persist(store, raw)
            if reused and written is not None:  # the snapshot matches the file again
                base_store.remember_source(len(written), self._digest(written))
            return UpdateOutcome(wrote=written is not None, reused_base=reused)

    def _parsed_from(self, base: LeanSnapshot, on_disk: bytes) -> bool:
        return (base.source_path == self.path and base.source_size == len(on_disk)
                and base.source_sha256 == self._digest(on_disk))
