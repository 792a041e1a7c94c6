"""`harness import-store`: an existing sessions.json brought into an SQLite store database.

The import itself is the `sqlite` store's own (`stores/sqlite_import.py`, streamed: memory
stays bounded by the largest entry, not the file), so a database made here is the one the
store would make on its first open.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from session_store_harness.errors import EXIT_USAGE, HarnessError
from session_store_harness.stores.base import StoreError
from session_store_harness.stores.sqlite_import import import_json


@dataclass(frozen=True)
class Imported:
    """What one import made."""

    source: Path
    database: Path
    sessions: int
    size_bytes: int


def import_store(source: Path, database: Path) -> Imported:
    """Build `database` from the store file `source`; refuses an existing database, and a
    failed import leaves nothing behind."""
    if source.resolve() == database.resolve():
        raise HarnessError(f"{database}: is the store file itself; name a new database",
                           EXIT_USAGE)
    if not database.parent.is_dir():
        raise HarnessError(f"{database.parent}: folder does not exist", EXIT_USAGE)
    try:
        sessions = import_json(source, database)
    except StoreError as exc:
        raise HarnessError(f"{exc} (no database was written)", EXIT_USAGE) from None
    return Imported(source, database, sessions, database.stat().st_size)
