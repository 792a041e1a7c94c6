"""Malformed stores: every store refuses them in one line and leaves the file as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from session_store_harness.stores import STORES, StoreError
from session_store_harness.stores.lock import lock_path_for

VALID = b'{\n  "agent:main:main": {\n    "sessionId": "s",\n    "updatedAt": 1\n  }\n}'
BAD_STORES = {
    "empty file": (b"", "store file is empty"),
    "truncated JSON": (VALID[:40], "invalid JSON at line"),
    "non-object root": (b"[1, 2]", "root is a JSON array"),
    "invalid UTF-8": (VALID.replace(b'"s"', b'"\xff"'), "not valid UTF-8 at byte"),
    "byte order mark": (b"\xef\xbb\xbf" + VALID, "byte order mark"),
    "duplicate keys": (b'{"a": {"sessionId": "1"}, "a": {"sessionId": "2"}}',
                       "session key 'a' appears twice"),
    "entry not an object": (b'{"a": {"sessionId": "1"}, "b": 7}', "entry 'b' is a JSON number"),
    "trailing garbage": (VALID + b" }", "Extra data"),
}


def touch_first(store: dict) -> None:
    next(iter(store.values()))["label"] = "changed"


@pytest.mark.parametrize("store_name", sorted(STORES))
@pytest.mark.parametrize("case", sorted(BAD_STORES))
def test_bad_store_is_refused_and_left_unchanged(tmp_path: Path, store_name: str,
                                                 case: str) -> None:
    content, message = BAD_STORES[case]
    path = tmp_path / "sessions.json"
    path.write_bytes(content)
    store = STORES[store_name](path)
    for attempt in (store.load, lambda: store.update(touch_first)):
        with pytest.raises(StoreError) as error:
            attempt()
        text = str(error.value)
        assert text.startswith(f"{path}: ") and message in text and "\n" not in text
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sessions.json"]


@pytest.mark.parametrize("store_name", sorted(STORES))
def test_a_directory_or_a_missing_file_is_refused(tmp_path: Path, store_name: str) -> None:
    folder = tmp_path / "sessions.json"
    folder.mkdir()
    with pytest.raises(StoreError, match="is a directory"):
        STORES[store_name](folder).load()
    with pytest.raises(StoreError, match="does not exist"):
        STORES[store_name](tmp_path / "missing.json").load()
    with pytest.raises(StoreError, match="does not exist"):
        STORES[store_name](tmp_path / "missing.json").update(touch_first)
    assert not (tmp_path / "missing.json").exists()
    assert not lock_path_for(tmp_path / "missing.json").exists()


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0, max_value=len(VALID) - 1),
       junk=st.binary(max_size=3), store_name=st.sampled_from(sorted(STORES)))
def test_any_damaged_store_is_refused_or_read_never_changed(tmp_path: Path, cut: int,
                                                            junk: bytes,
                                                            store_name: str) -> None:
    # GIVEN a valid store cut short at any byte and followed by up to three junk bytes
    path = tmp_path / f"damaged-{cut}-{junk.hex()}.json"
    content = VALID[:cut] + junk
    path.write_bytes(content)
    # WHEN a store loads it THEN it is refused with a one-line error, or it was valid JSON
    try:
        loaded = STORES[store_name](path).load()
    except StoreError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)
    else:
        assert dict(loaded) == json.loads(content)
    # AND a refused update never touches the file; an accepted one keeps every value
    try:
        STORES[store_name](path).update(lambda store: None)
    except StoreError:
        assert path.read_bytes() == content
    else:  # the store may rewrite valid JSON in its own layout, never with other data
        assert json.loads(path.read_bytes()) == json.loads(content)


def test_what_stores_repair_and_what_they_refuse(tmp_path: Path) -> None:
    # a mixed-case key is lowercased on load (the gateway's migration) and kept as a twin
    # when its lowercase form already exists, never dropped
    path = tmp_path / "sessions.json"
    path.write_text(json.dumps({"Agent:Main:X": {"sessionId": "upper"},
                                "agent:main:y": {"sessionId": "y"},
                                "AGENT:MAIN:Y": {"sessionId": "twin"}}))
    loaded = STORES["wholefile"](path).load()
    assert loaded["agent:main:x"] == {"sessionId": "upper"}
    assert loaded["AGENT:MAIN:Y"] == {"sessionId": "twin"} and len(loaded) == 3
