"""The store before the fix: every cold load and every update parses the whole file.

Load serves a deep copy from an object cache validated by mtime, size and a TTL; a miss reads
and parses the file, keeps its raw text (unbounded), caches a deep copy and returns another.
Update ignores the cache: it re-reads and re-parses under the lock (docs/store-behaviour.md,
"Before the fix").
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from session_store_harness.stores.base import Mutator, SessionMap, UpdateOutcome
from session_store_harness.stores.jsonfile import (
    deep_copy,
    parse_store,
    read_bytes,
    read_with_stat,
    serialize_bytes,
    stat_or_none,
    write_atomic,
)
from session_store_harness.stores.lock import store_lock

TTL_ENV = "OPENCLAW_SESSION_CACHE_TTL_MS"
DEFAULT_TTL_MS = 45_000


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

    def __init__(self, path: Path, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.path = Path(path)
        self.ttl_s = env_int(env, TTL_ENV, DEFAULT_TTL_MS) / 1000
        self._cached: CachedObject | None = None
        # The raw-text cache, unbounded before the fix. Held as the bytes read (the same size
        # as the ASCII text) so a load decodes once, inside the parser, as JSON.parse does.
        self._serialized: bytes | None = None

    def load(self) -> SessionMap:
        if self._cached and self._cached.serves(stat_or_none(self.path), self.ttl_s,
                                                time.monotonic()):
            return deep_copy(self._cached.store, self.path)
        raw, stat = read_with_stat(self.path)
        store = parse_store(raw, self.path)
        self._remember(store, raw, stat)
        return deep_copy(store, self.path)

    def update(self, mutator: Mutator, base_store: SessionMap | None = None) -> UpdateOutcome:
        del base_store  # before the fix the caller's snapshot was never reused
        with store_lock(self.path):
            raw = read_bytes(self.path)
            store = parse_store(raw, self.path)
            mutator(store)
            return UpdateOutcome(wrote=self._persist(store, raw) is not None, reused_base=False)

    def save(self, store: SessionMap) -> None:
        with store_lock(self.path):
            self._persist(store, read_bytes(self.path) if self.path.exists() else None)

    def _persist(self, store: SessionMap, on_disk: bytes | None) -> bytes | None:
        """Write the store unless the file already holds exactly it; the bytes written."""
        data = serialize_bytes(store, self.path)
        if data == on_disk:
            return None
        write_atomic(self.path, data)
        self._remember(store, data, self.path.stat())
        return data

    def _remember(self, store: SessionMap, raw: bytes, stat: os.stat_result) -> None:
        self._serialized = raw  # whatever the TTL
        if self.ttl_s <= 0:
            return
        try:
            cached = copy.deepcopy(store)
        except RecursionError:  # too deep to copy, maybe after a write: serve it from disk
            self._cached = None
            return
        self._cached = CachedObject(cached, stat.st_mtime_ns, stat.st_size, time.monotonic())
