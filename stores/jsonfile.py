"""Reading, parsing, serializing and atomically writing a `sessions.json` file.

The format is the gateway's: one JSON object, 2-space indent, no trailing newline, mode 0600.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from stores.base import SessionMap, StoreError

FILE_MODE = 0o600


def serialize(store: SessionMap) -> str:
    """The exact text the gateway writes (`JSON.stringify(store, null, 2)`)."""
    return json.dumps(store, indent=2, ensure_ascii=False)


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise StoreError(f"{path}: store file does not exist") from None
    except IsADirectoryError:
        raise StoreError(f"{path}: is a directory, not a store file") from None
    except PermissionError:
        raise StoreError(f"{path}: no permission to read the store file") from None


def parse(raw: bytes, path: Path) -> SessionMap:
    """Parse store bytes, refusing anything that is not a JSON object of objects."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raise StoreError(f"{path}: starts with a UTF-8 byte order mark, which JSON forbids")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StoreError(f"{path}: not valid UTF-8 at byte {exc.start}") from None
    if not text.strip():
        raise StoreError(f"{path}: store file is empty")
    try:
        store = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StoreError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: "
                         f"{exc.msg}") from None
    if not isinstance(store, dict):
        raise StoreError(f"{path}: root is a JSON {type(store).__name__}, expected an object")
    for key, entry in store.items():
        if not isinstance(entry, dict):
            raise StoreError(f"{path}: entry {key!r} is a JSON {type(entry).__name__}, "
                             "expected an object")
    return store


def migrate(store: SessionMap) -> None:
    """The gateway's load-time migration: session keys are lowercase."""
    for key in [k for k in store if k != k.lower()]:
        store.setdefault(key.lower(), store.pop(key))


def write_atomic(path: Path, data: bytes) -> None:
    """Write via a unique temp file, fsync, rename over the store, fsync the directory."""
    tmp = path.with_name(f"{path.name}.{uuid.uuid4()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except PermissionError:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"{path}: no permission to write the store's folder") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_with_stat(path: Path) -> tuple[bytes, os.stat_result]:
    """The bytes and the stat of one open file, so both describe the same version."""
    try:
        with path.open("rb") as handle:
            stat = os.fstat(handle.fileno())
            return handle.read(), stat
    except FileNotFoundError:
        raise StoreError(f"{path}: store file does not exist") from None
    except IsADirectoryError:
        raise StoreError(f"{path}: is a directory, not a store file") from None
    except PermissionError:
        raise StoreError(f"{path}: no permission to read the store file") from None


def stat_or_none(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None
