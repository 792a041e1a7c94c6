"""The last JSON-file design: a writer's own cache, spliced updates, skills prompts as blobs.

- **The writer reuses its own cached object**: under the lock, when the file's inode, mtime and
  size still match what this instance last read or wrote, and its bytes still equal the text
  it holds, the update neither parses the file nor re-serializes the untouched entries. (The
  gateway checked mtime and size; a read and a byte comparison, cheap beside a parse, also
  catches another process's write of the same size within one timestamp tick.)
- **The serialized cache is bounded**: the text of each store, as one piece per entry, is kept
  for at most `OPENCLAW_SESSION_SERIALIZED_CACHE_MAX_ENTRIES` stores (default 64) and
  `OPENCLAW_SESSION_SERIALIZED_CACHE_MAX_BYTES` bytes (default 64 MiB), least recently used
  first out; a store larger than the limit is not kept and each write serializes it whole.
- **Updates are spliced**: the mutator gets a store whose entries are copied when it first
  reaches them; only those entries (and added ones) are serialized again, and the file's text
  is the cached pieces joined, byte for byte what a full `JSON.stringify(store, null, 2)` of
  the file's object writes (tests/unit/test_latefile.py). `update_entry(key, mutator)` copies
  and serializes one entry.
- **Skills prompts are content-addressed blobs**: a `skillsSnapshot.prompt` of at least 1,024
  characters is written once to `skills-prompts/sha256/<2 hex>/<sha256>.txt` beside the store,
  and the entry holds `{"blob": "sha256:<hex>"}` instead. Loading resolves the reference
  (checking the blob's digest), so callers see the prompt; entries with the same prompt share
  one file, and in memory one string.

Locking and writing are the other stores' (`stores/lock.py`, `jsonfile.write_atomic`); blobs
are written (atomically, mode 0600 in 0700 folders) before the file that refers to them.
docs/store-designs.md describes the files and settings.
"""

from __future__ import annotations

import copy
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from session_store_harness.stores.base import Mutator, SessionMap, UpdateOutcome
from session_store_harness.stores.blobs import BLOB_FOLDER, blobs_for, externalized, resolve
from session_store_harness.stores.jsonfile import (
    deep_copy,
    join_members,
    member_text,
    members_in_order,
    parse_store,
    plain_member_order,
    read_with_stat,
    too_deep,
    write_atomic,
)
from session_store_harness.stores.lock import store_lock
from session_store_harness.stores.wholefile import env_int

MAX_ENTRIES_ENV = "OPENCLAW_SESSION_SERIALIZED_CACHE_MAX_ENTRIES"
MAX_BYTES_ENV = "OPENCLAW_SESSION_SERIALIZED_CACHE_MAX_BYTES"
DEFAULT_MAX_ENTRIES = 64
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
EntryMutator = Callable[[dict[str, Any] | None], dict[str, Any] | None]


# ---- the bounded serialized cache -------------------------------------------------------------

@dataclass(frozen=True)
class Version:
    """Which file a cache describes: inode, mtime and size."""

    inode: int
    mtime_ns: int
    size_bytes: int

    @classmethod
    def of(cls, stat: os.stat_result) -> Version:
        return cls(stat.st_ino, stat.st_mtime_ns, stat.st_size)


@dataclass
class Serialized:
    """A store's text as one piece per entry (`member_text`, key -> text), in file order."""

    version: Version
    pieces: dict[str, str]

    @property
    def size_bytes(self) -> int:
        return self.version.size_bytes

    def data(self) -> bytes:
        return join_members(self.pieces.items())


class SerializedCache:
    """Stores' texts by path, least recently used out past `max_entries` or `max_bytes`."""

    def __init__(self) -> None:
        self._items: OrderedDict[Path, Serialized] = OrderedDict()
        self._guard = threading.Lock()

    def get(self, path: Path, version: Version) -> Serialized | None:
        with self._guard:
            found = self._items.get(path)
            if found is None or found.version != version:
                return None
            self._items.move_to_end(path)
            return found

    def put(self, path: Path, item: Serialized, max_entries: int, max_bytes: int) -> None:
        with self._guard:
            self._items.pop(path, None)
            if max_entries == 0 or item.size_bytes > max_bytes:
                return  # too large to keep: the next write serializes it whole
            self._items[path] = item
            while (len(self._items) > max_entries
                   or sum(i.size_bytes for i in self._items.values()) > max_bytes):
                self._items.popitem(last=False)

    def paths(self) -> list[Path]:
        with self._guard:
            return list(self._items)


SERIALIZED = SerializedCache()


# ---- the mutator's view: entries copied when first reached ------------------------------------

class _TooDeep(Exception):
    """An entry too deep to copy; the store names its file."""


def _copied(value: Any) -> Any:
    try:
        return copy.deepcopy(value)
    except RecursionError:
        raise _TooDeep from None


class TouchTracking(dict):
    """A store whose entries are shared with the writer's cache until the mutator reaches one:
    then that entry is deep-copied into it and its key noted, so the cache never changes and
    only reached entries are serialized again. Every way a dict hands out a value is covered
    (`store[k]`, `get`, `setdefault`, `pop`, `popitem`, `values`, `items`, `copy`); only an
    explicit `dict.__getitem__(store, k)` would get past it."""

    def __init__(self, entries: SessionMap) -> None:
        super().__init__(entries)
        self.touched: set[Any] = set()
        self.assigned: set[Any] = set()  # values the mutator put in

    def _own(self, key: Any) -> Any:
        value = dict.__getitem__(self, key)
        if key not in self.touched:
            self.touched.add(key)
            value = _copied(value)
            dict.__setitem__(self, key, value)
        return value

    def __getitem__(self, key: Any) -> Any:
        return self._own(key)

    def get(self, key: Any, default: Any = None) -> Any:
        return self._own(key) if key in self else default

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self._own(key)

    def pop(self, key: Any, *default: Any) -> Any:
        if key in self:
            self._own(key)
        return dict.pop(self, key, *default)

    def popitem(self) -> tuple[Any, Any]:
        key = next(reversed(self))
        return key, self.pop(key)

    def values(self) -> list[Any]:  # type: ignore[override]
        return [self._own(key) for key in list(self)]

    def items(self) -> list[tuple[Any, Any]]:  # type: ignore[override]
        return [(key, self._own(key)) for key in list(self)]

    def copy(self) -> dict[Any, Any]:
        return dict(self.items())

    def __setitem__(self, key: Any, value: Any) -> None:
        self.touched.add(key)
        self.assigned.add(key)
        dict.__setitem__(self, key, value)

    def settled(self) -> SessionMap:
        """The store as the mutator left it, as a plain dict; what it put in is copied, since
        the caller may keep and change it after the update."""
        store = dict(dict.items(self))
        for key in self.assigned & store.keys():
            store[key] = _copied(store[key])
        return store

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def __ior__(self, other: Any) -> TouchTracking:
        self.update(other)
        return self

    def __iter__(self) -> Iterator[Any]:
        # defined so that dict(store) and {**store} take the slow path through __getitem__
        return dict.__iter__(self)


# ---- the store --------------------------------------------------------------------------------

@dataclass
class Current:
    """The store as this instance last read or wrote it: resolved entries and the file's text."""

    store: SessionMap
    text: Serialized


class LateFileStore:
    """The JSON-file store as it ended: own cache, bounded text cache, splices, prompt blobs."""

    name: ClassVar[str] = "latefile"

    def __init__(self, path: Path, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.path = Path(path)
        self.blobs = blobs_for(self.path.parent / BLOB_FOLDER)
        self.max_entries = env_int(env, MAX_ENTRIES_ENV, DEFAULT_MAX_ENTRIES)
        self.max_bytes = env_int(env, MAX_BYTES_ENV, DEFAULT_MAX_BYTES)
        self._store: SessionMap | None = None  # the writer's own object, never handed out
        self._version: Version | None = None

    # -- reading

    def load(self) -> SessionMap:
        raw, _ = read_with_stat(self.path)
        return resolve(parse_store(raw, self.path), self.blobs, self.path)

    def get(self, key: str) -> dict[str, Any] | None:
        """One entry (a copy the caller owns), from this instance's object while the file is
        the one it last read or wrote, else from a fresh read."""
        store = self._object_for(_stat(self.path))
        if store is None:
            raw, stat = read_with_stat(self.path)
            store = resolve(parse_store(raw, self.path), self.blobs, self.path)
            self._store, self._version = store, Version.of(stat)
        entry = store.get(key)
        return None if entry is None else deep_copy(entry, self.path)

    # -- writing

    def update(self, mutator: Mutator, base_store: SessionMap | None = None) -> UpdateOutcome:
        del base_store  # the writer reuses its own object, checked against the file
        with store_lock(self.path):
            current = self._current()
            work = TouchTracking(current.store)
            try:
                mutator(work)
                settled = work.settled()
            except _TooDeep:
                raise too_deep(self.path) from None
            return self._write(current, settled, work.touched)

    def update_entry(self, key: str, mutator: EntryMutator) -> UpdateOutcome:
        """Apply `mutator` to a copy of one entry (None when missing); it changes the entry in
        place or returns a new one. Only that entry is serialized again."""
        with store_lock(self.path):
            current = self._current()
            found = current.store.get(key)
            entry = None if found is None else deep_copy(found, self.path)
            returned = mutator(entry)
            entry = entry if returned is None else deep_copy(returned, self.path)
            if entry is None:
                return UpdateOutcome(wrote=False, reused_base=False)
            store = dict(current.store)
            store[key] = entry
            return self._write(current, store, {key})

    def save(self, store: SessionMap) -> None:
        with store_lock(self.path):
            own = deep_copy(dict(store), self.path)  # the caller keeps what it saved
            self._commit(own, self._pieces(own, set(own), {}))

    # -- the caches

    def _object_for(self, stat: os.stat_result | None) -> SessionMap | None:
        if self._store is None or stat is None or Version.of(stat) != self._version:
            return None
        return self._store

    def _current(self) -> Current:
        """Under the lock: this instance's object and text if the file is still the one they
        describe (same inode, mtime, size and bytes), else the file read and parsed again."""
        raw, stat = read_with_stat(self.path)
        version = Version.of(stat)
        store = self._object_for(stat)
        if store is not None:
            text = SERIALIZED.get(self.path, version)
            if text is not None and text.data() == raw:
                return Current(store, text)
            pieces = self._pieces(store, set(store), {})  # the text was not kept: made again
            if join_members(pieces.items()) != raw:
                store = None
        if store is None:
            store = resolve(parse_store(raw, self.path), self.blobs, self.path)
            pieces = self._pieces(store, set(store), {})
        text = Serialized(version, pieces)
        self._store, self._version = store, version
        self._keep(text)
        return Current(store, text)

    def _pieces(self, store: SessionMap, touched: set[Any],
                old: dict[str, str]) -> dict[str, str]:
        """Each entry's text in file order: serialized again if touched or new, else reused."""
        if not plain_member_order(store):  # array-index keys are written first: all again
            return {key: member_text(externalized(value, self.blobs), self.path)
                    for key, value in members_in_order(store)}
        return {key: (old[key] if key in old and key not in touched
                      else member_text(externalized(value, self.blobs), self.path))
                for key, value in store.items()}

    def _write(self, current: Current, store: SessionMap, touched: set[Any]) -> UpdateOutcome:
        pieces = self._pieces(store, touched, current.text.pieces)
        if list(pieces.items()) == list(current.text.pieces.items()):  # the file stays as it is
            return UpdateOutcome(wrote=False, reused_base=False)
        self._commit(store, pieces)
        return UpdateOutcome(wrote=True, reused_base=False)

    def _commit(self, store: SessionMap, pieces: dict[str, str]) -> None:
        self._store = self._version = None  # until the new file is in place
        self.blobs.flush()  # before the file that refers to them
        write_atomic(self.path, join_members(pieces.items()))
        version = Version.of(self.path.stat())
        self._store, self._version = store, version
        self._keep(Serialized(version, pieces))

    def _keep(self, text: Serialized) -> None:
        SERIALIZED.put(self.path, text, self.max_entries, self.max_bytes)


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None
