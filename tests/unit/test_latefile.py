"""`latefile`: spliced updates write the very bytes a full serialize writes; skills prompts live
in content-addressed blobs; the writer's own cache never hides another process's write."""

from __future__ import annotations

import hashlib
import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from session_store_harness.generating.generator import GenerateSpec, generate
from session_store_harness.measuring.persisted import layout_of
from session_store_harness.stores import StoreError, blobs, latefile
from session_store_harness.stores.jsonfile import parse, read_bytes, serialize_bytes
from session_store_harness.stores.latefile import (
    BLOB_FOLDER,
    MAX_BYTES_ENV,
    MAX_ENTRIES_ENV,
    SERIALIZED,
    LateFileStore,
    TouchTracking,
)

PROMPT = "<available_skills> " + "<skill><name>x</name></skill> " * 100 + "</available_skills>"


@pytest.fixture
def store_file(tmp_path: Path) -> Path:
    (tmp_path / "store").mkdir()
    return generate(GenerateSpec("realistic", 1, target_kb=200),
                    tmp_path / "store" / "sessions.json").path


def full_serialize(path: Path) -> bytes:
    """What a whole-store JSON.stringify(store, null, 2) of the file's own object writes."""
    return serialize_bytes(parse(read_bytes(path), path))


def entry_with_prompt(session: str, prompt: str = PROMPT) -> dict:
    return {"sessionId": session, "updatedAt": 1,
            "skillsSnapshot": {"prompt": prompt, "skills": [{"name": "x"}], "version": 3}}


def count_serialized_entries(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many entries latefile serializes, counted around its own serializer."""
    calls = [0]
    real = latefile.member_text

    def counting(value, path="store"):
        calls[0] += 1
        return real(value, path)
    monkeypatch.setattr(latefile, "member_text", counting)
    return calls


def test_spliced_updates_write_the_bytes_a_full_serialize_writes(
        store_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a realistic store and a latefile writer that has written it once
    store = LateFileStore(store_file)
    keys = list(store.load())
    store.update(lambda s: s[keys[0]].__setitem__("label", "warm"))
    serialized = count_serialized_entries(monkeypatch)
    # WHEN single entries change through both APIs, one is added and one deleted
    steps = [
        lambda: store.update(lambda s: s[keys[1]].__setitem__("lastTo", "naïve \u2028 ✓")),
        lambda: store.update_entry(keys[2], lambda e: {**e, "label": 'new "label"'}),
        lambda: store.update_entry("agent:main:new", lambda e: {"sessionId": "n", "x": 1.5}),
        lambda: store.update(lambda s: s.pop(keys[3])),
    ]
    for step in steps:
        before = serialized[0]
        assert step().wrote
        # THEN each wrote exactly what a full re-serialize of the file's object writes
        assert read_bytes(store_file) == full_serialize(store_file)
        # AND serialized the one entry it changed (none for a deletion), not the whole store
        assert serialized[0] - before <= 1
    expected = LateFileStore(store_file).load()
    assert list(expected) == [*keys[:3], *keys[4:], "agent:main:new"]
    assert expected[keys[1]]["lastTo"] == "naïve \u2028 ✓"


def test_the_mutator_gets_copies_so_the_writers_cache_never_changes(store_file: Path) -> None:
    # GIVEN the writer's own object
    cached = parse(read_bytes(store_file), store_file)
    first = next(iter(cached))
    snapshot = json.dumps(cached)
    # WHEN a mutator reaches one entry through the tracking store
    work = TouchTracking(cached)
    work[first]["label"] = "changed"
    work.setdefault("added", {})["n"] = 1
    # THEN only what it reached is copied and noted; the original is untouched
    assert work.touched == {first, "added"}
    assert json.dumps(cached) == snapshot
    # AND every way a dict hands out its values copies first
    for reach in (lambda w: w.values(), lambda w: w.items(), lambda w: dict(w), lambda w: {**w},
                  lambda w: w.copy()):
        work = TouchTracking(cached)
        reach(work)
        assert work.touched == set(cached)


def test_a_failed_mutator_leaves_file_and_cache_as_they_were(store_file: Path) -> None:
    store = LateFileStore(store_file)
    key = next(iter(store.load()))
    store.update(lambda s: s[key].__setitem__("label", "one"))
    before = read_bytes(store_file)

    def half_then_fail(s: dict) -> None:
        s[key]["label"] = "half"
        raise RuntimeError("mutator failed")
    with pytest.raises(RuntimeError):
        store.update(half_then_fail)
    assert read_bytes(store_file) == before
    assert store.get(key)["label"] == "one"
    assert not store.update(lambda s: s[key].__setitem__("label", "one")).wrote


def test_prompts_are_content_addressed_blobs_shared_between_entries(tmp_path: Path) -> None:
    # GIVEN two entries with the same long prompt, one with another, one with a short one
    path = tmp_path / "sessions.json"
    path.write_text("{}")
    path.chmod(0o600)
    store = LateFileStore(path)
    store.save({"a": entry_with_prompt("a"), "b": entry_with_prompt("b"),
                "c": entry_with_prompt("c", PROMPT + " "), "d": entry_with_prompt("d", "short")})
    # THEN each distinct long prompt is one file named by its SHA-256, private
    blobs = sorted((tmp_path / BLOB_FOLDER).rglob("*.txt"))
    digests = {hashlib.sha256(p.encode()).hexdigest() for p in (PROMPT, PROMPT + " ")}
    assert {b.stem for b in blobs} == digests
    for blob in blobs:
        assert blob.read_text() == (PROMPT if blob.stem == hashlib.sha256(
            PROMPT.encode()).hexdigest() else PROMPT + " ")
        assert blob.parent.name == blob.stem[:2] and blob.parent.parent.name == "sha256"
        assert stat.S_IMODE(blob.stat().st_mode) == 0o600
        assert stat.S_IMODE(blob.parent.stat().st_mode) == 0o700
    # AND the entries hold small references; a short prompt stays inline
    raw = json.loads(path.read_text())
    digest = hashlib.sha256(PROMPT.encode()).hexdigest()
    assert raw["a"]["skillsSnapshot"]["prompt"] == {"blob": f"sha256:{digest}"}
    assert raw["b"]["skillsSnapshot"]["prompt"] == raw["a"]["skillsSnapshot"]["prompt"]
    assert raw["d"]["skillsSnapshot"]["prompt"] == "short"
    assert path.stat().st_size < len(PROMPT)
    # AND loading resolves them: callers see the prompts, one string for equal ones
    loaded = LateFileStore(path).load()
    assert loaded["a"]["skillsSnapshot"]["prompt"] == PROMPT
    assert loaded["a"]["skillsSnapshot"]["prompt"] is loaded["b"]["skillsSnapshot"]["prompt"]
    assert loaded == layout_of("latefile", builtin=True).read(path)


def test_a_missing_or_altered_blob_is_one_line_naming_it(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "sessions.json"
    path.write_text("{}")
    LateFileStore(path).save({"a": entry_with_prompt("a")})
    blob = next((tmp_path / BLOB_FOLDER).rglob("*.txt"))
    monkeypatch.setattr(blobs, "_BLOBS", {})  # a new process: nothing remembered
    blob.write_text(PROMPT + "altered")
    with pytest.raises(StoreError, match=rf"{blob}.* does not match its digest$"):
        LateFileStore(path).load()
    blob.unlink()
    with pytest.raises(StoreError, match=rf"{blob} cannot be read \(No such file"):
        LateFileStore(path).load()


def test_the_cached_object_never_hides_a_write_of_the_same_size(store_file: Path) -> None:
    # GIVEN our writer's cache of the file
    ours = LateFileStore(store_file)
    first, second = list(ours.load())[:2]
    ours.update(lambda s: s[first].__setitem__("label", "aaaa"))
    size = store_file.stat().st_size
    # WHEN another process writes a change that keeps the size
    code = ("import sys; from pathlib import Path; "
            "from session_store_harness.stores.latefile import LateFileStore; "
            "LateFileStore(Path(sys.argv[1])).update("
            "lambda s: s[sys.argv[2]].__setitem__('label', 'bbbb'))")
    subprocess.run([sys.executable, "-c", code, str(store_file), first], check=True)
    assert store_file.stat().st_size == size
    # THEN our next update keeps it
    ours.update_entry(second, lambda e: e.__setitem__("label", "ours"))
    found = LateFileStore(store_file).load()
    assert (found[first]["label"], found[second]["label"]) == ("bbbb", "ours")


def test_get_and_update_entry(store_file: Path) -> None:
    store = LateFileStore(store_file)
    key = next(iter(store.load()))
    entry = store.get(key)
    entry["label"] = "changed by the caller"  # the caller's copy
    assert store.get(key).get("label") != "changed by the caller"
    assert store.get("agent:main:missing") is None
    # a mutator given None for a missing entry and returning nothing writes nothing
    before = store_file.stat()
    assert not store.update_entry("agent:main:missing", lambda e: None).wrote
    assert not store.update_entry(key, lambda e: None).wrote  # changed nothing in place
    assert store_file.stat().st_mtime_ns == before.st_mtime_ns
    assert store.update_entry(key, lambda e: e.__setitem__("label", "in place")).wrote
    assert LateFileStore(store_file).get(key)["label"] == "in place"


def test_the_serialized_cache_is_bounded_by_entries_and_bytes(tmp_path: Path) -> None:
    paths = []
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        paths.append(generate(GenerateSpec("pr", 1, entries=20),
                              tmp_path / name / "sessions.json").path)
    for path in paths:
        LateFileStore(path, env={MAX_ENTRIES_ENV: "1"}).update(
            lambda s: s.__setitem__("k", {"n": 1}))
    assert [p for p in SERIALIZED.paths() if p in paths] == [paths[1]]
    LateFileStore(paths[0], env={MAX_BYTES_ENV: "100"}).update(
        lambda s: s.__setitem__("k", {"n": 2}))
    assert paths[0] not in SERIALIZED.paths()  # over the limit: not kept
    # a store not kept is still written whole and right
    assert read_bytes(paths[0]) == full_serialize(paths[0])


def test_the_workers_touch_reaches_one_entry_and_replaces_none() -> None:
    # the full workload's mutation, through the loaders' entry_mutation: an entry changed in
    # place must not count as replaced, or latefile copies it a second time when it settles
    from session_store_harness.worker.cycles import touch

    tracked = TouchTracking({"a": {"sessionId": "a"}, "b": {"sessionId": "b"}})
    touch("a", 1)(tracked)
    assert tracked.touched == {"a"} and tracked.assigned == set()
    touch("new", 2)(tracked)  # a key that is not there is put in: that one is assigned
    assert tracked.assigned == {"new"}
