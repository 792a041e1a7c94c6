"""The store as it ended up: one SQLite database per store, a row per session.

The store's path is still its `sessions.json`; the database is `<path>.db` beside it
(`sessions.json.db`). When the database does not exist, the first open imports the JSON file
into it (`sqlite_import.import_json`, streamed); from then on the JSON file is never read or
written again. A row holds the key, the entry as compact JSON, and `updatedAt`; rows are kept in
the store's order by rowid. WAL mode: readers never wait for a writer. A write is one
`BEGIN IMMEDIATE` transaction (SQLite's lock, waited for up to 10 s, then `LockTimeout`), and it
touches only the rows whose JSON changed; an update that changes nothing writes nothing.

`load` returns what the JSON stores return for the same sessions: the same keys in the same
order, the same values. docs/store-designs.md has the files and their modes.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

from session_store_harness.stores.base import (
    LockTimeout,
    Mutator,
    SessionMap,
    StoreError,
    UpdateOutcome,
)
from session_store_harness.stores.jsonfile import members_in_order, migrate, plain_member_order
from session_store_harness.stores.sqlite_import import (
    entry_json,
    import_json,
    sqlite_text,
    updated_at,
)

DB_SUFFIX = ".db"
BUSY_TIMEOUT_S = 10.0  # as the JSON stores' lock
EntryMutator = Callable[[dict[str, Any] | None], dict[str, Any] | None]


def database_path(path: Path) -> Path:
    """The database of the store whose JSON file is `path`: `<path>.db`."""
    return path.with_name(path.name + DB_SUFFIX)


class SqliteStore:
    """One SQLite database per store; the JSON file is an import source only."""

    name: ClassVar[str] = "sqlite"

    def __init__(self, path: Path, env: Mapping[str, str] | None = None) -> None:
        del env  # no settings
        self.path = Path(path)
        self.database = database_path(self.path)
        self._connection: sqlite3.Connection | None = None
        self._guard = threading.RLock()  # a mutator may call get

    # -- the interface

    def load(self) -> SessionMap:
        with self._guard:
            return _in_store_order(self._read(self._open()))

    def get(self, key: str) -> dict[str, Any] | None:
        """One entry, reading its row only."""
        with self._guard:
            row = self._open().execute("SELECT entry FROM sessions WHERE key = ?",
                                       (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def update(self, mutator: Mutator, base_store: SessionMap | None = None) -> UpdateOutcome:
        del base_store  # rows are read inside the transaction: nothing to reuse safely
        with self._transaction() as connection:
            old = self._rows(connection)
            store = _in_store_order({key: json.loads(text) for key, text in old.items()})
            mutator(store)
            return UpdateOutcome(wrote=self._apply(connection, old, store) > 0,
                                 reused_base=False)

    def update_entry(self, key: str, mutator: EntryMutator) -> UpdateOutcome:
        """Apply `mutator` to one entry (None when missing), changing it in place or returning
        a new one; reads and writes that row only."""
        with self._transaction() as connection:
            row = connection.execute("SELECT entry FROM sessions WHERE key = ?",
                                     (sqlite_text(key, self.path),)).fetchone()
            entry = None if row is None else json.loads(row[0])
            returned = mutator(entry)
            entry = entry if returned is None else returned
            if entry is None:
                return UpdateOutcome(wrote=False, reused_base=False)
            text = entry_json(entry, self.path)
            if row is not None and row[0] == text:
                return UpdateOutcome(wrote=False, reused_base=False)
            if row is None:
                connection.execute("INSERT INTO sessions VALUES (?, ?, ?)",
                                   (key, text, updated_at(entry)))
            else:
                connection.execute("UPDATE sessions SET entry = ?, updated_at = ? WHERE key = ?",
                                   (text, updated_at(entry), key))
            return UpdateOutcome(wrote=True, reused_base=False)

    def save(self, store: SessionMap) -> None:
        with self._transaction() as connection:
            self._apply(connection, self._rows(connection), store)

    def changes(self) -> int:
        """Rows inserted, changed or deleted through this instance so far."""
        with self._guard:
            return self._open().total_changes

    def close(self) -> None:
        with self._guard:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    # -- the database

    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            if not self.database.exists():
                _import_once(self.path, self.database)
            # An import's temp file left now is a killed importer's: with the database in
            # place, a live one could not link its own anyway.
            for leftover in self.database.parent.glob(self.database.name + ".*.tmp"):
                leftover.unlink(missing_ok=True)
            self._connection = _connect(self.database)
        return self._connection

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._guard:
            connection = self._open()
            try:
                connection.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise _locked(self.database, exc) from None
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            try:
                connection.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                connection.execute("ROLLBACK")
                raise _locked(self.database, exc) from None

    def _read(self, connection: sqlite3.Connection) -> SessionMap:
        try:
            return {key: json.loads(text) for key, text in connection.execute(
                "SELECT key, entry FROM sessions ORDER BY rowid")}
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.database}: cannot read the sessions ({exc})") from None

    @staticmethod
    def _rows(connection: sqlite3.Connection) -> dict[str, str]:
        return dict(connection.execute("SELECT key, entry FROM sessions ORDER BY rowid"))

    def _apply(self, connection: sqlite3.Connection, old: dict[str, str],
               store: SessionMap) -> int:
        """Make the rows hold `store`, touching only rows that differ; the rows touched."""
        if not all(isinstance(key, str) for key in store):
            raise StoreError(f"{self.path}: cannot save a session key that is not a string")
        new = {sqlite_text(key, self.path): entry_json(entry, self.path)
               for key, entry in store.items()}
        before = connection.total_changes
        kept = [key for key in old if key in new]
        if list(new)[:len(kept)] != kept:  # reordered: the rows' order is rewritten
            connection.execute("DELETE FROM sessions")
            old = {}
        connection.executemany("DELETE FROM sessions WHERE key = ?",
                               ((key,) for key in old if key not in new))
        connection.executemany(
            "UPDATE sessions SET entry = ?, updated_at = ? WHERE key = ?",
            ((text, updated_at(store[key]), key) for key, text in new.items()
             if key in old and old[key] != text))
        connection.executemany(
            "INSERT INTO sessions VALUES (?, ?, ?)",
            ((key, text, updated_at(store[key])) for key, text in new.items() if key not in old))
        return connection.total_changes - before


def _in_store_order(store: SessionMap) -> SessionMap:
    """Rows as the JSON stores load them: migrated keys, array-index keys first."""
    migrate(store)
    return store if plain_member_order(store) else dict(members_in_order(store))


_import_guard = threading.Lock()


def _import_once(path: Path, database: Path) -> None:
    """Import the JSON file unless the database exists, or another process made it meanwhile."""
    with _import_guard:
        try:
            import_json(path, database)
        except StoreError:
            if not database.exists():
                raise


def _connect(database: Path) -> sqlite3.Connection:
    try:
        connection = sqlite3.connect(database, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                     check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")  # a commit is on disk when it returns
        connection.execute("SELECT 1 FROM sessions LIMIT 1")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{database}: not a sessions database ({exc})") from None
    return connection  # SQLite gives the -wal and -shm files the database's mode, 0600


def _locked(database: Path, exc: sqlite3.OperationalError) -> StoreError:
    if "locked" in str(exc) or "busy" in str(exc):
        return LockTimeout(f"{database}: database still locked by another writer after "
                           f"{BUSY_TIMEOUT_S:g} s")
    return StoreError(f"{database}: {exc}")
