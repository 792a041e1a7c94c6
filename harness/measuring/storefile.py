"""The store a run measures: generated, or a copy of the user's file, in a scratch folder."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from session_store_harness.errors import HarnessError
from session_store_harness.generating.generator import generate
from session_store_harness.model.config import RunConfig
from session_store_harness.model.run import StoreInfo
from session_store_harness.stores import StoreError
from session_store_harness.stores.base import SessionMap
from session_store_harness.stores.jsonfile import parse, read_bytes, serialize_bytes
from session_store_harness.stores.sqlite_import import export_json

STORE_NAME = "sessions.json"
SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database
# Frames kept free below the recursion limit for the worker's calls around a store's copy.
WORKER_STACK_HEADROOM = 100


def prepare_store(config: RunConfig, scratch: Path) -> tuple[Path, StoreInfo]:
    """Put the pristine store into `scratch`; the user's own file is only ever read."""
    try:
        (scratch / "pristine").mkdir()
        path = scratch / "pristine" / STORE_NAME
        if config.generate is not None:
            entries = generate(config.generate, path).entries
            source = "generated"
        else:
            entries, source = copy_user_store(config.store_file, path)
        return path, StoreInfo(source=source, size_bytes=path.stat().st_size,
                               sha256=file_sha256(path), entries=entries)
    except OSError as exc:  # the scratch folder's file system (TMPDIR) is full or gone
        # the scratch folder is removed by the time this is read: name the folder it was in
        raise HarnessError(f"cannot prepare the store in a scratch folder under "
                           f"{scratch.parent} ({exc.strerror or exc}); nothing was run") from None


def copy_user_store(source_path: Path, path: Path) -> tuple[int, str]:
    """Copy the user's store to `path` and check it (`checked_entries`), for `run`, `ab` and
    `stress` alike; its entry count and where it came from. A `sqlite` store's database
    (`harness import-store`) is copied beside `path` as `<path>.db` and written out as the JSON
    file every other store reads: the user's database is only ever read, by copying it."""
    if not source_path.is_file():
        raise HarnessError(f"{source_path}: store file does not exist or is not a file")
    if _is_database(source_path):
        _copy_database(source_path, path)
        return checked_entries(path, source_path), str(source_path.resolve())
    try:
        shutil.copyfile(source_path, path)
    except PermissionError:
        raise HarnessError(f"{source_path}: no permission to read the store file") from None
    os.chmod(path, 0o600)
    return checked_entries(path, source_path), str(source_path.resolve())


def _is_database(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def _copy_database(source: Path, path: Path) -> None:
    """The database and its write-ahead log (what is committed but not yet checkpointed into
    the database lives there) copied under the `sqlite` store's name for `path`, then
    exported. Copy a database no gateway is writing: the two files are copied one by one."""
    copy = path.with_name(path.name + ".db")
    try:
        for suffix in ("", "-wal"):
            if Path(f"{source}{suffix}").exists():
                shutil.copyfile(f"{source}{suffix}", f"{copy}{suffix}")
                os.chmod(f"{copy}{suffix}", 0o600)
    except PermissionError:
        raise HarnessError(f"{source}: no permission to read the database") from None
    try:
        export_json(copy, path)
    except StoreError as exc:
        raise HarnessError(f"{str(exc).replace(str(copy), str(source))} (nothing was "
                           "run)") from None


def checked_entries(copy: Path, source: Path) -> int:
    """The one check of a user's store before any worker or writer starts (`run`, `ab`,
    `stress`): the store must load as the stores load it AND be saved back by them, so a store
    the workers would refuse mid-run is refused here, in one line naming the user's file rather
    than the scratch copy. Nested duplicate keys pass, as JSON.parse takes the last of them."""
    try:
        store = parse(read_bytes(copy), source)
        _check_depth(store, source)
        serialize_bytes(store, source)  # refuses integers beyond a double's range, as a save does
    except StoreError as exc:
        raise HarnessError(f"{exc} (nothing was run)") from None
    if not store:
        raise HarnessError(f"{source}: store has no entries to update (nothing was run)")
    return len(store)


def max_depth() -> int:
    """The deepest nesting a worker can copy: `copy.deepcopy` takes 2 Python frames per level
    (parsing and serializing take 1), and the worker's own calls need room below it."""
    return (sys.getrecursionlimit() - WORKER_STACK_HEADROOM) // 2


def _check_depth(store: SessionMap, source: Path) -> None:
    # counted without recursion, so a store too deep for the stores cannot break the check
    limit = max_depth()
    pending: list[tuple[Any, int]] = [(store, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > limit:
            raise StoreError(f"{source}: nested more than {limit} levels deep, deeper than the "
                             f"Python stores can copy (recursion limit {sys.getrecursionlimit()})")
        children = value.values() if isinstance(value, dict) else value
        pending.extend((child, depth + 1) for child in children
                       if isinstance(child, dict | list))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
