"""The store after the fix: a size-gated object cache and update reusing the caller's snapshot.

A store larger than `OPENCLAW_SESSION_OBJECT_CACHE_MAX_BYTES` (default 1,000,000; invalid values
fall back to it; 0 disables the cache) is neither served from nor put into the object cache,
its text is not retained, and a one-time warning per path says so. `update(..., base_store=s)`
reuses `s` instead of parsing again only when the file's bytes under the lock still hash to the
bytes `s` was parsed from (docs/store-behaviour.md, "The fix"; how this differs from the
real store: "How this repository models it").
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from session_store_harness.stores.base import Mutator, SessionMap, UpdateOutcome
from session_store_harness.stores.jsonfile import (
    deep_copy,
    parse_store,
    read_bytes,
    read_with_stat,
    stat_or_none,
)
from session_store_harness.stores.lock import store_lock
from session_store_harness.stores.wholefile import WholeFileStore, env_int

MAX_BYTES_ENV = "OPENCLAW_SESSION_OBJECT_CACHE_MAX_BYTES"
DEFAULT_MAX_BYTES = 1_000_000

_warned_paths: set[Path] = set()


class Snapshot(dict):
    """A loaded store that remembers the bytes it was parsed from (by size and SHA-256)."""

    __slots__ = ("source_path", "source_sha256", "source_size")

    def __init__(self, store: SessionMap, source_path: Path, source: bytes) -> None:
        super().__init__(store)
        self.source_path = source_path
        self.remember_source(source)

    def remember_source(self, source: bytes) -> None:
        self.source_size = len(source)
        self.source_sha256 = hashlib.sha256(source).digest()

    def was_parsed_from(self, path: Path, on_disk: bytes) -> bool:
        return (self.source_path == path and self.source_size == len(on_disk)
                and self.source_sha256 == hashlib.sha256(on_disk).digest())


class SnapshotStore(WholeFileStore):
    """The gateway's store with the memory fix applied."""

    name: ClassVar[str] = "snapshot"

    def __init__(self, path: Path, env: Mapping[str, str] | None = None) -> None:
        super().__init__(path, env)
        self.max_cache_bytes = env_int(os.environ if env is None else env, MAX_BYTES_ENV,
                                       DEFAULT_MAX_BYTES)

    def load(self) -> Snapshot:
        cached = self._cached
        if cached and cached.serves(stat_or_none(self.path), self.ttl_s, time.monotonic()):
            return Snapshot(deep_copy(cached.store, self.path), self.path, self._serialized)
        raw, stat = read_with_stat(self.path)
        store = parse_store(raw, self.path)
        self._remember(store, raw, stat)
        return Snapshot(store, self.path, raw)

    def update(self, mutator: Mutator, base_store: SessionMap | None = None) -> UpdateOutcome:
        with store_lock(self.path):
            raw = read_bytes(self.path)
            reused = isinstance(base_store, Snapshot) and base_store.was_parsed_from(self.path, raw)
            store = base_store if reused else parse_store(raw, self.path)
            mutator(store)
            written = self._persist(store, raw)
            if reused and written is not None:
                base_store.remember_source(written)  # the snapshot matches the file again
            return UpdateOutcome(wrote=written is not None, reused_base=reused)

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
