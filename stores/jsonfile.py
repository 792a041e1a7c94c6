"""Reading, parsing, serializing and atomically writing a `sessions.json` file.

The format is the gateway's: one JSON object, 2-space indent, no trailing newline, mode 0600.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path

from session_store_harness.stores.base import SessionMap, StoreError

FILE_MODE = 0o600


def serialize(store: SessionMap) -> str:
    """The exact text the gateway writes (`JSON.stringify(store, null, 2)`)."""
    return json.dumps(store, indent=2, ensure_ascii=False)


def read_bytes(path: Path) -> bytes:
    return read_with_stat(path)[0]


def parse(raw: bytes, path: Path) -> SessionMap:
    """Parse store bytes, refusing anything that is not a JSON object of objects."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raise StoreError(f"{path}: starts with a UTF-8 byte order mark, which JSON forbids")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StoreError(f"{path}: not valid UTF-8 at byte {exc.start}") from None
    if not text or text.isspace():
        raise StoreError(f"{path}: store file is empty")
    try:
        return _parse_members(text, path)
    except json.JSONDecodeError as exc:
        raise StoreError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: "
                         f"{exc.msg}") from None


def _parse_members(text: str, path: Path) -> SessionMap:
    """The top-level object member by member, so a session key written twice is refused.

    `json.loads` would keep the last of two equal keys and an update would then drop the
    first for good. Each entry is still parsed by the C scanner: on the 7600 KB realistic store
    this takes 21.5 ms against 19.8 ms for `json.loads` (median of 30), about 9% more.
    """
    index = _skip_space(text, 0)
    if text[index] != "{":
        root = json.loads(text)  # raises for invalid JSON, else names the wrong root type
        raise StoreError(f"{path}: root is a JSON {_json_type(root)}, expected an object")
    store: SessionMap = {}
    index = _skip_space(text, index + 1)
    while text[index: index + 1] != "}":
        if store:
            index = _expect(text, index, ",")
        index = _skip_space(text, index)
        if text[index: index + 1] != '"':
            raise json.JSONDecodeError("Expecting property name enclosed in double quotes",
                                       text, index)
        key, index = json.decoder.scanstring(text, index + 1)
        index = _expect(text, index, ":")
        entry, index = _DECODER.raw_decode(text, _skip_space(text, index))
        if key in store:
            raise StoreError(f"{path}: session key {key!r} appears twice")
        if not isinstance(entry, dict):
            raise StoreError(f"{path}: entry {key!r} is a JSON {_json_type(entry)}, "
                             "expected an object")
        store[key] = entry
        index = _skip_space(text, index)
        if index >= len(text):
            raise json.JSONDecodeError("Expecting ',' delimiter", text, index)
    if text[_skip_space(text, index + 1):]:
        raise json.JSONDecodeError("Extra data", text, _skip_space(text, index + 1))
    return store


_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")


def _skip_space(text: str, index: int) -> int:
    return _SPACE.match(text, index).end()


def _expect(text: str, index: int, char: str) -> int:
    index = _skip_space(text, index)
    if text[index: index + 1] != char:
        raise json.JSONDecodeError(f"Expecting {char!r} delimiter", text, index)
    return index + 1


def _json_type(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def parse_store(raw: bytes, path: Path) -> SessionMap:
    """Parse and migrate: what every store does with the bytes it reads."""
    store = parse(raw, path)
    migrate(store)
    return store


def migrate(store: SessionMap) -> None:
    """The gateway's load-time migration: session keys are lowercase.

    A mixed-case key whose lowercase twin already exists is left alone rather than dropped.
    """
    for key in [k for k in store if k != k.lower()]:
        if key.lower() not in store:
            store[key.lower()] = store.pop(key)


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
