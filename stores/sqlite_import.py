"""A `sessions.json` brought into an SQLite database, streamed: memory stays bounded by the
largest entry, not the file (docs/store-designs.md, `sqlite`).

The top-level object is read member by member from a sliding buffer of decoded text
(`json.JSONDecoder.raw_decode` on each entry); a member cut by the buffer's end is parsed again
once more text is read. What the store parser refuses is refused here too, in one line naming
the file: invalid JSON, a root that is not an object, an entry that is not one, a key written
twice, NaN, Infinity. Keys get the gateway's lowercase migration. The database is built under
a temporary name and linked into place only when whole, so a failed import leaves nothing and
an existing database is never replaced.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import re
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from session_store_harness.stores.base import StoreError
from session_store_harness.stores.jsonfile import (
    FILE_MODE,
    decode_value,
    join_members,
    member_text,
    too_deep,
)

CHUNK_BYTES = 1 << 20
MAX_ENTRY_CHARS = 256 << 20  # a member still unfinished past this is an error, not a read-ahead
SCHEMA = ("CREATE TABLE sessions (key TEXT PRIMARY KEY, entry TEXT NOT NULL, "
          "updated_at INTEGER)")
SCHEMA_VERSION = 1
_SPACE = re.compile(r"[ \t\n\r]*")


def entry_json(entry: Any, path: Path) -> str:
    """An entry as its row holds it: compact JSON, ASCII, refusing what JSON cannot hold (the
    messages of the JSON stores' writer, `jsonfile.serialize_bytes`), naming `path`."""
    try:
        text = json.dumps(entry, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    except ValueError:
        raise StoreError(f"{path}: cannot save NaN or Infinity: not a finite number (JSON has "
                         "no NaN or Infinity; JSON.stringify would write null)") from None
    except TypeError as exc:
        raise StoreError(f"{path}: cannot save {exc}") from None
    except RecursionError:
        raise too_deep(path) from None
    if _LONG_DIGITS.search(text):  # rare: only then look for an integer beyond a double
        _refuse_huge_integers(entry, path)
    return text


_LONG_DIGITS = re.compile(r"\d{309}")


def _refuse_huge_integers(value: Any, path: Path) -> None:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) >= 2 ** 1024:
            raise StoreError(f"{path}: cannot save an integer of {item.bit_length()} bits: not "
                             "a finite number as a double (JSON.stringify would write null)")


def json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def sqlite_text(key: str, path: Path) -> str:
    """A session key as SQLite text can hold it: UTF-8, so no lone UTF-16 surrogate."""
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise StoreError(f"{path}: session key {key!r} holds a lone UTF-16 surrogate, which "
                         "SQLite text cannot hold") from None
    return key


def updated_at(entry: Any) -> int | None:
    """The entry's `updatedAt` (epoch ms) for its column, when it is a number."""
    value = entry.get("updatedAt") if isinstance(entry, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return int(value) if abs(value) < 2 ** 63 else None


class _Members:
    """The (key, entry) pairs of a JSON object file, read in chunks."""

    def __init__(self, handle: BinaryIO, path: Path, chunk_bytes: int) -> None:
        self.handle, self.path, self.chunk_bytes = handle, path, chunk_bytes
        self.decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.text, self.pos = "", 0
        self.eof = False
        self.bytes_read = 0
        self.lines_before, self.column_before = 0, 0  # of the text dropped from the buffer

    def more(self) -> bool:
        """Read more text (at least as much as is buffered, so retries stay linear)."""
        if self.eof:
            return False
        size = max(self.chunk_bytes, len(self.text) - self.pos)
        data = self.handle.read(size)
        if self.bytes_read == 0 and data.startswith(b"\xef\xbb\xbf"):
            raise StoreError(f"{self.path}: starts with a UTF-8 byte order mark, which JSON "
                             "forbids")
        try:
            decoded = self.decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise StoreError(f"{self.path}: not valid UTF-8 at byte "
                             f"{self.bytes_read + exc.start}") from None
        self.bytes_read += len(data)
        self.eof = not data
        self._drop_read()
        self.text += decoded
        return bool(data)

    def _drop_read(self) -> None:
        dropped = self.text[:self.pos]
        newlines = dropped.count("\n")
        if newlines:
            self.lines_before += newlines
            self.column_before = len(dropped) - dropped.rfind("\n") - 1
        else:
            self.column_before += len(dropped)
        self.text, self.pos = self.text[self.pos:], 0

    def error(self, message: str, at: int) -> StoreError:
        before = self.text[:at]
        newlines = before.count("\n")
        line = self.lines_before + newlines + 1
        column = (at - before.rfind("\n") if newlines else self.column_before + at + 1)
        return StoreError(f"{self.path}: invalid JSON at line {line} column {column}: "
                          f"{message}")

    def skip_space(self) -> str:
        """The next character after white space ("" at the end of the file)."""
        while True:
            self.pos = _SPACE.match(self.text, self.pos).end()
            if self.pos < len(self.text) or not self.more():
                return self.text[self.pos:self.pos + 1]

    def expect(self, char: str, what: str) -> None:
        if self.skip_space() != char:
            raise self.error(f"Expecting {what}", self.pos)
        self.pos += 1

    def value(self, parse: Any) -> Any:
        """`parse(text, pos)` on a member, read further while the buffer cuts it short."""
        while True:
            try:
                found, self.pos = parse(self.text, self.pos)
                return found
            except json.JSONDecodeError as exc:
                into = exc.pos - self.pos  # reading more moves the buffer, not the member
                if len(self.text) - self.pos > MAX_ENTRY_CHARS or not self.more():
                    raise self.error(exc.msg, self.pos + into) from None

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        first = self.skip_space()
        if not first:
            raise StoreError(f"{self.path}: store file is empty")
        if first != "{":
            kind = {"[": "array", '"': "string", "t": "boolean", "f": "boolean",
                    "n": "null"}.get(first, "number")
            raise StoreError(f"{self.path}: root is a JSON {kind}, expected an object")
        self.pos += 1
        count = 0
        while self.skip_space() != "}":
            if count:
                self.expect(",", "',' delimiter")
            if self.skip_space() != '"':
                raise self.error("Expecting property name enclosed in double quotes",
                                 self.pos)
            self.pos += 1
            key = self.value(json.decoder.scanstring)
            self.expect(":", "':' delimiter")
            self.skip_space()
            entry = self.value(lambda text, pos: decode_value(text, pos, self.path))
            if not isinstance(entry, dict):
                raise StoreError(f"{self.path}: entry {key!r} is a JSON {json_type(entry)}, "
                                 "expected an object")
            count += 1
            yield key, entry
        self.pos += 1
        if self.skip_space():
            raise self.error("Extra data", self.pos)


def import_json(source: Path, target: Path, chunk_bytes: int = CHUNK_BYTES) -> int:
    """Build the database `target` from the store file `source`; the number of sessions.

    Refuses an existing `target`; on any error nothing is left behind."""
    if target.exists():
        raise StoreError(f"{target}: already exists; not replacing it")
    tmp = target.with_name(f"{target.name}.{uuid.uuid4()}.tmp")
    try:
        handle = source.open("rb")
    except FileNotFoundError:
        raise StoreError(f"{source}: store file does not exist") from None
    except IsADirectoryError:
        raise StoreError(f"{source}: is a directory, not a store file") from None
    except PermissionError:
        raise StoreError(f"{source}: no permission to read the store file") from None
    try:
        with handle:
            count = _build(_Members(handle, source, chunk_bytes), tmp, source)
        _publish(tmp, target)
    except BaseException:
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            leftover.unlink(missing_ok=True)
        raise
    return count


def _build(members: _Members, tmp: Path, source: Path) -> int:
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except PermissionError:
        raise StoreError(f"{tmp.parent}: no permission to create the database") from None
    connection = sqlite3.connect(tmp, isolation_level=None)
    try:
        # A temporary file: no journal while building; durability comes from the fsync below.
        connection.execute("PRAGMA journal_mode=OFF")
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute(SCHEMA)
        connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        connection.execute("BEGIN")
        mixed_case: list[str] = []

        last = [""]

        def rows() -> Iterator[tuple[str, str, int | None]]:
            for key, entry in members:
                last[0] = sqlite_text(key, source)
                if key != key.lower():
                    mixed_case.append(key)
                yield key, entry_json(entry, source), updated_at(entry)

        try:
            connection.executemany("INSERT INTO sessions VALUES (?, ?, ?)", rows())
        except sqlite3.IntegrityError:
            raise StoreError(f"{source}: session key {last[0]!r} appears twice") from None
        migrate_keys(connection, mixed_case)
        connection.execute("COMMIT")
        count = connection.execute("SELECT count(*) FROM sessions").fetchone()[0]
        connection.execute("PRAGMA journal_mode=WAL")
    finally:
        connection.close()
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    return count


def migrate_keys(connection: sqlite3.Connection, mixed_case: list[str]) -> None:
    """The gateway's lowercase migration (`jsonfile.migrate`), in file order: a mixed-case key
    whose lowercase twin exists is left alone; the others are lowercased and move to the end,
    as `store[key.lower()] = store.pop(key)` moves them."""
    for key in mixed_case:
        lower = key.lower()
        if connection.execute("SELECT 1 FROM sessions WHERE key = ?", (lower,)).fetchone():
            continue
        connection.execute("UPDATE sessions SET key = ?, rowid = (SELECT max(rowid) + 1 FROM "
                           "sessions) WHERE key = ?", (lower, key))


def _publish(tmp: Path, target: Path) -> None:
    """Put the finished database in place unless `target` appeared meanwhile."""
    try:
        os.link(tmp, target)
    except (FileExistsError, FileNotFoundError):
        # made meanwhile by another process (which then swept this one's temp file)
        if target.exists():
            raise StoreError(f"{target}: already exists; not replacing it") from None
        raise StoreError(f"{tmp}: removed while importing") from None
    finally:
        tmp.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def export_json(database: Path, target: Path) -> int:
    """Write the sessions of `database` to the new file `target` as the JSON stores write
    them (`JSON.stringify(store, null, 2)`), a row at a time; the number of sessions."""
    try:
        connection = sqlite3.connect(database)
        rows = connection.execute("SELECT key, entry FROM sessions ORDER BY rowid")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{database}: not a sessions database ({exc})") from None
    count = 0
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        with os.fdopen(fd, "wb") as out:
            for key, text in rows:
                member = join_members([(key, member_text(json.loads(text), database))])
                out.write((b"{" if count == 0 else b",") + member[1:-2])
                count += 1
            out.write(b"\n}" if count else b"{}")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{database}: cannot read the sessions ({exc})") from None
    finally:
        connection.close()
    return count
