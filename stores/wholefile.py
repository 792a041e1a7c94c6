"""The store before the fix: every cycle clones the whole store three times and parses it once.

Load serves a deep copy from an object cache validated by mtime, size and a TTL; a miss reads
and parses the file, keeps its raw text (unbounded), caches a deep copy and returns another.
Update ignores the cache: under the lock it re-reads and re-parses the file and, as every load
of the real store does, clones what it parsed; after a write it refreshes both caches
(docs/store-behaviour.md, "Before the fix" and "What the real store does per cycle").

Every whole-store operation is counted in `ops` (reads, parses, clones, stringifies, digests,
writes): a few dict increments per cycle against operations of milliseconds, so it is always on.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from session_store_harness.stores.base import Mutator, SessionMap, StoreError, UpdateOutcome
from session_store_harness.stores.jsonfile import (
    deep_copy,
    normalize_delivery,
    parse_store,
    read_with_stat,
    serialize_bytes,
    stat_or_none,
    write_atomic,
)
from session_store_harness.stores.lock import store_lock

TTL_ENV = "OPENCLAW_SESSION_CACHE_TTL_MS"
DEFAULT_TTL_MS = 45_000
# The whole-store operations a store counts in `ops`, in the order reports show them.
OPS = ("read", "parse", "clone", "stringify", "digest", "write")


def env_int(env: Mapping[str, str], name: str, default: int) -> int:
    """A non-negative integer from the environment; anything else falls back to the default."""
    try:
        value = int(env.get(name, ""))
    except ValueError:
        return default
    return value if value >= 0 else default


@dataclass(frozen=True)
class CachedObject:
    """A parsed store kept in memory, valid while the file's mtime and size are unchanged."""

    store: SessionMap
    mtime_ns: int
    size_bytes: int
    cached_at_s: float

    def serves(self, stat: os.stat_result | None, ttl_s: float, now_s: float) -> bool:
        return (stat is not None and stat.st_mtime_ns == self.mtime_ns
                and stat.st_size == self.size_bytes and now_s - self.cached_at_s < ttl_s)


class WholeFileStore:
    """The gateway's store as it was before the memory fix."""

    name: ClassVar[str] = "wholefile"
    # Load and save make `deliveryContext.to` follow `lastTo`, as the gateway's do.
    normalizes: ClassVar[bool] = True

    def __init__(self, path: Path, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.path = Path(path)
        self.ttl_s = env_int(env, TTL_ENV, DEFAULT_TTL_MS) / 1000
        self._cached: CachedObject | None = None
        # The raw-text cache, unbounded before the fix. Held as the bytes read (the same size
        # as the ASCII text) so a load decodes once, inside the parser, as JSON.parse does.
        self._serialized: bytes | None = None
        self.ops: dict[str, int] = dict.fromkeys(OPS, 0)

    def load(self) -> SessionMap:
        if self._cache_serves():
            return self._clone(self._cached.store)
        raw, stat = self._read()
        store = self._parse(raw)
        self._remember(store, raw, stat)
        return self._clone(store)

    def update(self, mutator: Mutator, base_store: SessionMap | None = None) -> UpdateOutcome:
        del base_store  # before the fix the caller's snapshot was never reused
        with store_lock(self.path):
            raw, _ = self._read()
            self._serialized = raw  # the text under the lock is what a write is compared with
            store = self._clone(self._parse(raw))  # the real read clones even with no cache
            mutator(store)
            return UpdateOutcome(wrote=self._persist(store, raw) is not None, reused_base=False)

    def save(self, store: SessionMap) -> None:
        with store_lock(self.path):
            self._persist(store, self._read()[0] if self.path.exists() else None)

    def _persist(self, store: SessionMap, on_disk: bytes | None) -> bytes | None:
        """Write the store unless the file already holds exactly it; the bytes written."""
        if self.normalizes:
            normalize_delivery(store)
        data = self._stringify(store)
        if data == on_disk:
            return None
        self._write(data)
        self._remember(store, data, self.path.stat())
        return data

    def _remember(self, store: SessionMap, raw: bytes, stat: os.stat_result) -> None:
        self._serialized = raw  # whatever the TTL
        if self.ttl_s <= 0:
            return
        try:
            cached = self._clone(store)
        except StoreError:  # too deep to copy, maybe after a write: serve it from disk
            self._cached = None
            return
        self._cached = CachedObject(cached, stat.st_mtime_ns, stat.st_size, time.monotonic())

    def _cache_serves(self) -> bool:
        return self._cached is not None and self._cached.serves(
            stat_or_none(self.path), self.ttl_s, time.monotonic())

    # ---- the whole-store operations, each counted once ---------------------------------------

    def _read(self) -> tuple[bytes, os.stat_result]:
        self.ops["read"] += 1
        return read_with_stat(self.path)

    def _parse(self, raw: bytes) -> SessionMap:
        self.ops["parse"] += 1
        store = parse_store(raw, self.path)
        if self.normalizes:
            normalize_delivery(store)
        return store

    def _clone(self, store: SessionMap) -> SessionMap:
        # copy.deepcopy stands for structuredClone: on the 7600 KB realistic store it costs
        # 1.8x a parse here (53 / 30 ms), as structuredClone costs 2.0x JSON.parse in Node
        # (24 / 11.7 ms); a pickle round trip, though closer in mechanism, costs 1.0x.
        self.ops["clone"] += 1
        return deep_copy(store, self.path)

    def _stringify(self, store: SessionMap) -> bytes:
        self.ops["stringify"] += 1
        return serialize_bytes(store, self.path)

    def _digest(self, data: bytes) -> bytes:
        self.ops["digest"] += 1
        return hashlib.sha256(data).digest()

    def _write(self, data: bytes) -> None:
        self.ops["write"] += 1
        write_atomic(self.path, data)
