"""What a store keeps on disk, read with the harness's own code: a store never vouches for its
own output.

A JSON-file store keeps its sessions in its file. `latefile` keeps each long skills prompt in a
content-addressed blob beside the file (`skills-prompts/sha256/<2 hex>/<hex>.txt`; the entry
holds `{"blob": "sha256:<hex>"}`); `sqlite` keeps its sessions in `<file>.db`, a row each
(docs/store-designs.md). The conformance rules and the stress checks read every store through
its `Layout`: the sessions it holds, the files whose mode and state are judged, the JSON text
whose format is judged (none for a database), and the files beside it that are the store's own
by design (not leftovers).
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from session_store_harness.errors import HarnessError
from session_store_harness.measuring.strict import InvalidStore, strict_parse, strict_value
from session_store_harness.stores.base import StoreError
from session_store_harness.stores.jsonfile import read_bytes
from session_store_harness.stores.sqlite_import import import_json

BLOB_FOLDER = "skills-prompts"
_REFERENCE = re.compile(r"sha256:([0-9a-f]{64})")
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


@dataclass(frozen=True)
class Layout:
    """How one store design keeps its sessions on disk."""

    name: str  # json, latefile or sqlite

    def read(self, path: Path) -> dict[str, Any]:
        """The sessions the store holds, or `InvalidStore` saying why what is there is not."""
        if self.name == "sqlite" and database_of(path).exists():
            return _read_database(database_of(path))
        try:
            store = strict_parse(read_bytes(path), path)
        except StoreError as exc:
            raise InvalidStore(str(exc)) from None
        return _resolve_blobs(store, path) if self.name == "latefile" else store

    def json_text(self, path: Path) -> bytes | None:
        """The JSON text whose format is judged; None when the sessions are in a database."""
        if self.name == "sqlite" and database_of(path).exists():
            return None
        return read_bytes(path)

    def files(self, path: Path) -> list[Path]:
        """Every file holding the store's data, whose mode is judged."""
        if self.name == "sqlite" and database_of(path).exists():
            return _database_files(path)
        if self.name == "latefile" and (path.parent / BLOB_FOLDER).is_dir():
            return [path, *sorted((path.parent / BLOB_FOLDER).rglob("*.txt"))]
        return [path]

    def state_files(self, path: Path) -> list[Path]:
        """The files a write changes (a database's -shm changes on reads: not among them)."""
        if self.name == "sqlite" and database_of(path).exists():
            return [f for f in _database_files(path) if not f.name.endswith("-shm")]
        return [path]

    def made_once(self, pristine: Path) -> list[Path]:
        """Files the design makes from a pristine store file, made here once (in the harness)
        so every repeat starts from a copy of them instead of making them in its first cycle:
        `sqlite`'s database, by the store's own import."""
        if self.name != "sqlite":
            return []
        database = database_of(pristine)
        if not database.exists():
            try:
                import_json(pristine, database)
            except StoreError as exc:
                raise HarnessError(f"{exc} (nothing was run)") from None
        return [database]

    def own_files(self, path: Path) -> set[str]:
        """Names beside the store that the design keeps there on purpose."""
        if self.name == "sqlite":
            database = database_of(path).name
            return {database, *(database + side for side in SQLITE_SIDE_FILES)}
        return {BLOB_FOLDER} if self.name == "latefile" else set()


JSON_FILE = Layout("json")
LAYOUTS = {"latefile": Layout("latefile"), "sqlite": Layout("sqlite")}


def layout_of(spec: str, builtin: bool) -> Layout:
    """The layout of a store: the built-in designs' own, a JSON file for every other store."""
    return LAYOUTS.get(spec, JSON_FILE) if builtin else JSON_FILE


def database_of(path: Path) -> Path:
    return path.with_name(path.name + ".db")


def _database_files(path: Path) -> list[Path]:
    database = database_of(path)
    return [database, *(f for side in SQLITE_SIDE_FILES
                        if (f := database.with_name(database.name + side)).exists())]


def _read_database(database: Path) -> dict[str, Any]:
    """The rows in order, each entry read strictly; read-only, so reading changes nothing."""
    try:
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
        try:
            rows = connection.execute("SELECT key, entry FROM sessions ORDER BY rowid").fetchall()
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise InvalidStore(f"{database}: {exc}") from None
    store = {}
    for key, text in rows:
        entry = strict_value(text, f"{database}: row {key!r}")
        if not isinstance(entry, dict):
            raise InvalidStore(f"{database}: row {key!r} is not a JSON object")
        store[key] = entry
    return store


def _resolve_blobs(store: dict[str, Any], path: Path) -> dict[str, Any]:
    """Each skills prompt reference replaced by its blob's text, the blob's digest checked."""
    texts: dict[str, str] = {}
    for key, entry in store.items():
        snapshot = entry.get("skillsSnapshot")
        prompt = snapshot.get("prompt") if isinstance(snapshot, dict) else None
        if not (isinstance(prompt, dict) and list(prompt) == ["blob"]
                and isinstance(prompt["blob"], str)):
            continue
        found = _REFERENCE.fullmatch(prompt["blob"])
        if found is None:
            raise InvalidStore(f"{path}: entry {key!r} refers to blob {prompt['blob']!r}, "
                               "not sha256:<64 hex>")
        digest = found.group(1)
        if digest not in texts:
            texts[digest] = _blob_text(path, digest)
        snapshot["prompt"] = texts[digest]
    return store


def _blob_text(path: Path, digest: str) -> str:
    blob = path.parent / BLOB_FOLDER / "sha256" / digest[:2] / f"{digest}.txt"
    try:
        data = blob.read_bytes()
    except OSError as exc:
        raise InvalidStore(f"{path}: skills prompt blob {blob.name} cannot be read "
                           f"({exc.strerror or exc})") from None
    if hashlib.sha256(data).hexdigest() != digest:
        raise InvalidStore(f"{path}: skills prompt blob {blob.name} does not match its digest")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidStore(f"{path}: skills prompt blob {blob.name} is not UTF-8") from None
