"""`sqlite`: a row per session in `<path>.db`; loads what the JSON stores load; writes only the
rows that changed; imports a JSON file streamed, refusing what the store parser refuses."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from session_store_harness.generating.generator import GenerateSpec, generate
from session_store_harness.stores import StoreError
from session_store_harness.stores.jsonfile import read_bytes
from session_store_harness.stores.sqlite import SqliteStore, database_path
from session_store_harness.stores.sqlite_import import import_json
from session_store_harness.stores.wholefile import WholeFileStore


@pytest.fixture
def store_file(tmp_path: Path) -> Path:
    (tmp_path / "store").mkdir()
    return generate(GenerateSpec("realistic", 1, target_kb=120),
                    tmp_path / "store" / "sessions.json").path


def rows(database: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        return connection.execute("SELECT key, entry FROM sessions ORDER BY rowid").fetchall()


def test_load_returns_what_the_json_stores_load(tmp_path: Path) -> None:
    # GIVEN a store with a mixed-case key (migrated on load) and one whose twin exists
    path = tmp_path / "sessions.json"
    path.write_text('{"Agent:Main:A": {"n": 1}, "b": {"n": 2.5, "t": "naïve"}, '
                    '"C": {"n": [true, null]}, "c": {"n": 3}, "d": {"updatedAt": 7}}')
    # THEN the same keys in the same order and the same values as the JSON store's load
    expected = WholeFileStore(path).load()
    found = SqliteStore(path).load()
    assert list(found) == list(expected) and found == expected
    # AND the database sits beside the file, private, in WAL mode, updatedAt in its column
    database = database_path(path)
    assert database.name == "sessions.json.db"
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("SELECT updated_at FROM sessions WHERE key = 'd'"
                                  ).fetchone() == (7,)


def test_an_update_writes_only_the_rows_that_changed(store_file: Path) -> None:
    store = SqliteStore(store_file)
    keys = list(store.load())
    json_before = (read_bytes(store_file), store_file.stat().st_mtime_ns)

    def changed_rows(mutator) -> int:
        before = store.changes()
        store.update(mutator)
        return store.changes() - before
    assert changed_rows(lambda s: s[keys[0]].__setitem__("label", "one")) == 1
    assert changed_rows(lambda s: s[keys[0]].__setitem__("label", "one")) == 0
    assert changed_rows(lambda s: (s.pop(keys[1]), s.__setitem__("new", {"n": 1}))) == 2
    before = store.changes()
    assert store.update_entry(keys[2], lambda e: {**e, "label": "two"}).wrote
    assert not store.update_entry(keys[2], lambda e: None).wrote
    assert not store.update_entry("missing", lambda e: None).wrote
    assert store.changes() - before == 1
    # the other rows are as imported; the JSON file is never written again
    assert [k for k, _ in rows(database_path(store_file))] == [
        keys[0], *keys[2:], "new"]
    assert (read_bytes(store_file), store_file.stat().st_mtime_ns) == json_before


def test_get_reads_one_entry_and_update_entry_adds_a_missing_one(store_file: Path) -> None:
    store = SqliteStore(store_file)
    key = next(iter(store.load()))
    assert store.get(key) == WholeFileStore(store_file).load()[key]
    assert store.get("agent:main:missing") is None
    assert store.update_entry("agent:main:missing", lambda e: {"sessionId": "m"}).wrote
    assert SqliteStore(store_file).get("agent:main:missing") == {"sessionId": "m"}


def test_save_in_another_order_is_loaded_in_that_order(store_file: Path) -> None:
    store = SqliteStore(store_file)
    loaded = store.load()
    reordered = dict(reversed(list(loaded.items())))
    store.save(reordered)
    assert list(SqliteStore(store_file).load()) == list(reordered)


def test_import_streams_through_a_small_buffer(store_file: Path, tmp_path: Path) -> None:
    # GIVEN a buffer far smaller than one entry: every entry is read across several chunks
    database = tmp_path / "small-chunks.db"
    count = import_json(store_file, database, chunk_bytes=64)
    expected = WholeFileStore(store_file).load()
    assert count == len(expected)
    assert SqliteStore(tmp_path / "small-chunks").load() == expected


@pytest.mark.parametrize(("content", "fragment"), [
    (b'{"a": {"n": 1},\n "b": {"n": tru}}', r"invalid JSON at line 2 column 13: Expecting value"),
    (b'{"a": {"n": 1}, "a": {}}', "session key 'a' appears twice"),
    (b'{"a": [1]}', "entry 'a' is a JSON array, expected an object"),
    (b'[{"a": 1}]', "root is a JSON array, expected an object"),
    (b"", "store file is empty"),
    (b'\xef\xbb\xbf{"a": {}}', "byte order mark"),
    (b'{"a": {"n": NaN}}', "NaN is not a JSON number"),
    (b'{"a": {"n": "\xff"}}', "not valid UTF-8 at byte 13"),
    (b'{"a": {"n": 1}} x', "Extra data"),
    (b'{"a": {"n": 1}', "Expecting ',' delimiter"),
])
def test_an_unreadable_file_is_one_line_and_leaves_nothing(tmp_path: Path, content: bytes,
                                                            fragment: str) -> None:
    source = tmp_path / "sessions.json"
    source.write_bytes(content)
    with pytest.raises(StoreError, match=fragment) as caught:
        import_json(source, tmp_path / "store.db", chunk_bytes=8)
    assert "\n" not in str(caught.value) and str(source) in str(caught.value)
    assert sorted(os.listdir(tmp_path)) == ["sessions.json"]


def test_import_never_replaces_a_database(store_file: Path, tmp_path: Path) -> None:
    database = tmp_path / "existing.db"
    database.write_bytes(b"mine")
    with pytest.raises(StoreError, match="already exists; not replacing it"):
        import_json(store_file, database)
    assert database.read_bytes() == b"mine"
