"""The store after the fix, as the real one does it: a size-gated object cache, and an update
that checks, clones, re-reads and clones back around the caller's snapshot.

A store larger than `OPENCLAW_SESSION_OBJECT_CACHE_MAX_BYTES` (default 1,000,000; invalid values
fall back to it; 0 disables the cache) is neither served from nor put into the object cache,
its text is not retained (its loaded snapshot keeps a SHA-256 digest instead), and a one-time
warning per path says so. Every load returns a clone. `update(..., base_store=s)` with a
snapshot `s` this store loaded: stringifies `s` and compares it with what `s` was loaded from
(the caller must not have changed it), re-reads the file under the lock and compares it too,
then works on a clone of `s`, writes, and clones every entry back into `s`. Per cycle on a large
store: 3 reads, 1 parse, 4 digests, 2 stringifies, 3 clones (docs/store-behaviour.md, "The fix"
and "What the real store does per cycle"). If the caller changed `s`, or the file changed, the
update re-parses from disk and leaves `s` untouched.
"""

from __future__ import annotations

import copy
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from session_store_harness.stores.base import Mutator, SessionMap, UpdateOutcome
from session_store_harness.stores.jsonfile import too_deep
from session_store_harness.stores.lock import store_lock
from session_store_harness.stores.wholefile import WholeFileStore, env_int

MAX_BYTES_ENV = "OPENCLAW_SESSION_OBJECT_CACHE_MAX_BYTES"
DEFAULT_MAX_BYTES = 1_000_000

_warned_paths: set[Path] = set()


class GatedCacheStore(WholeFileStore):
    """`wholefile` whose object and text caches hold only stores up to the size limit."""

    def __init__(self, path: Path, env: Mapping[str, str] | None = None) -> None:
        super().__init__(path, env)
        self.max_cache_bytes = env_int(os.environ if env is None else env, MAX_BYTES_ENV,
                                       DEFAULT_MAX_BYTES)

    def _remember(self, store: SessionMap, raw: bytes, stat: os.stat_result) -> None:
        if self._cacheable(stat.st_size):
            super()._remember(dict(store), raw, stat)  # a plain dict: no snapshot fields
        else:  # nothing of an oversized store is kept: its snapshot carries its own digest
            self._cached = None
            self._serialized = None

    def _cacheable(self, size_bytes: int) -> bool:
        if self.max_cache_bytes == 0 or self.ttl_s <= 0:
            return False
        if size_bytes <= self.max_cache_bytes:
            return True
        if self.path not in _warned_paths:
            _warned_paths.add(self.path)
            print(f"[session-store] {self.path} is {size_bytes} bytes, over the object cache "
                  f"limit of {self.max_cache_bytes} bytes: not caching it (set {MAX_BYTES_ENV} "
                  "to change the limit, 0 disables the cache)", file=sys.stderr)
        return False


class Snapshot(dict):
    """A loaded store and what it was loaded from: the text of a store small enough to cache,
    else the text's SHA-256 (the text of a large store is not retained)."""

    __slots__ = ("source_digest", "source_path", "source_text")

    def __init__(self, store: SessionMap, path: Path, text: bytes | None,
                 digest: bytes | None) -> None:
        super().__init__(store)
        self.source_path = path
        self.source_text = text
        self.source_digest = digest


class SnapshotStore(GatedCacheStore):
    """The gateway's store with the memory fix applied."""

    name: ClassVar[str] = "snapshot"

    def load(self) -> Snapshot:
        if self._cache_serves():
            return Snapshot(self._clone(self._cached.store), self.path, self._serialized, None)
        raw, stat = self._read()
        store = self._parse(raw)
        self._remember(store, raw, stat)
        if self._serialized is not None:  # small enough to cache: its text is the source
            return Snapshot(self._clone(store), self.path, raw, None)
        return Snapshot(self._clone(store), self.path, None, self._digest(raw))

    def update(self, mutator: Mutator, base_store: SessionMap | None = None) -> UpdateOutcome:
        with store_lock(self.path):
            reused = isinstance(base_store, Snapshot) and self._unchanged(base_store)
            work = self._clone(dict(base_store)) if reused else self._read_fresh()
            mutator(work)
            written = self._persist(work, self._disk_text())
            if reused and written is not None:
                self._clone_back(base_store, work, written)
            return UpdateOutcome(wrote=written is not None, reused_base=reused)

    def _unchanged(self, base: Snapshot) -> bool:
        """Whether neither the caller nor another writer changed `base` since it was loaded."""
        if base.source_path != self.path or not self._matches(base, self._stringify(base)):
            return False  # the caller changed its snapshot: it is left as it is
        raw, _ = self._read()
        if not self._matches(base, raw):
            return False
        # the text of a small store is cached; a large store's is dropped here and read again
        # for the save's comparison, as the real store does
        self._serialized = raw if base.source_text is not None else None
        return True

    def _matches(self, base: Snapshot, text: bytes) -> bool:
        if base.source_text is not None:
            return text == base.source_text
        return base.source_digest is not None and self._digest(text) == base.source_digest

    def _read_fresh(self) -> SessionMap:
        """The real store's load with the cache skipped: read, parse, and the returned clone."""
        raw, _ = self._read()
        self._serialized = raw if self._cacheable(len(raw)) else None
        return self._clone(self._parse(raw))

    def _disk_text(self) -> bytes | None:
        """What the file holds under the lock, to skip writing an unchanged store."""
        if self._serialized is not None:
            return self._serialized
        return self._read()[0] if self.path.exists() else None

    def _clone_back(self, base: Snapshot, work: SessionMap, written: bytes) -> None:
        """Make the caller's snapshot the store just written, each entry a clone of its own."""
        self.ops["clone"] += 1  # entry by entry, a whole store's worth
        try:
            fresh = {key: copy.deepcopy(entry) for key, entry in work.items()}
        except RecursionError:
            raise too_deep(self.path) from None
        base.clear()
        base.update(fresh)
        if self._serialized is not None:
            base.source_text, base.source_digest = written, None
        else:
            base.source_text, base.source_digest = None, self._digest(written)
