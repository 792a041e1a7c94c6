"""Every store in the registry keeps the same contract; then each store's own behaviour."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from session_store_harness.measuring.persisted import layout_of
from session_store_harness.stores import STORES, LockTimeout, StoreError
from session_store_harness.stores.lock import claim_path_for, lock_path_for, store_lock
from session_store_harness.stores.snapshot import MAX_BYTES_ENV, SnapshotStore
from session_store_harness.stores.wholefile import WholeFileStore


def on_disk(store_name: str, path: Path) -> dict:
    """What the store keeps, read by the harness: the file, with latefile's blobs resolved, or
    sqlite's database beside it."""
    return layout_of(store_name, builtin=True).read(path)


def set_label(key: str, label: str):
    def mutate(store: dict) -> None:
        store[key]["label"] = label
    return mutate


def write_from_another_process(path: Path, store_name: str, key: str, label: str) -> None:
    """A real second process updates the store, as a concurrent gateway process would."""
    code = ("import sys; from pathlib import Path; "
            "from session_store_harness.stores import STORES; "
            "s = STORES[sys.argv[1]](Path(sys.argv[2])); "
            "s.update(lambda m: m[sys.argv[3]].__setitem__('label', sys.argv[4]))")
    subprocess.run([sys.executable, "-c", code, store_name, str(path), key, label], check=True)


@pytest.fixture(params=sorted(STORES))
def store_name(request: pytest.FixtureRequest) -> str:
    return request.param


def test_updates_persist(store_name: str, small_store: Path) -> None:
    store = STORES[store_name](small_store)
    loaded = store.load()
    key = next(iter(loaded))
    outcome = store.update(set_label(key, "persisted"), base_store=loaded)
    assert outcome.wrote
    assert on_disk(store_name, small_store)[key]["label"] == "persisted"
    assert STORES[store_name](small_store).load()[key]["label"] == "persisted"


def test_unchanged_store_is_not_rewritten(store_name: str, small_store: Path) -> None:
    before = small_store.stat()
    store = STORES[store_name](small_store)
    outcome = store.update(lambda store: None, base_store=store.load())
    after = small_store.stat()
    assert not outcome.wrote
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_stale_base_snapshot_never_loses_another_processs_write(store_name: str,
                                                                  small_store: Path) -> None:
    # GIVEN a store loaded by us
    store = STORES[store_name](small_store)
    loaded = store.load()
    first, second = list(loaded)[:2]
    # WHEN another process writes between our load and our update
    write_from_another_process(small_store, store_name, first, "theirs")
    outcome = store.update(set_label(second, "ours"), base_store=loaded)
    # THEN both writes are in the file, and our stale snapshot was not reused
    found = on_disk(store_name, small_store)
    assert found[first]["label"] == "theirs"
    assert found[second]["label"] == "ours"
    assert not outcome.reused_base


def test_writes_are_private_atomic_and_leave_nothing_behind(store_name: str,
                                                            small_store: Path) -> None:
    # what a writer killed mid-write leaves (sqlite: mid-import, its database made since)
    leftover = small_store.with_name("sessions.json.db.dead-import.tmp" if store_name == "sqlite"
                                     else "sessions.json.dead-writer.tmp")
    leftover.write_text("{")
    store = STORES[store_name](small_store)
    store.update(set_label(next(iter(store.load())), "x"))
    layout = layout_of(store_name, builtin=True)
    assert {stat.S_IMODE(f.stat().st_mode) for f in layout.files(small_store)} == {0o600}
    assert sorted(p.name for p in small_store.parent.iterdir()
                  if p.name not in layout.own_files(small_store)) == ["sessions.json"]


def test_save_replaces_the_whole_store(store_name: str, small_store: Path) -> None:
    store = STORES[store_name](small_store)
    store.save({"agent:main:main": {"sessionId": "s", "updatedAt": 1}})
    assert on_disk(store_name, small_store) == {
        "agent:main:main": {"sessionId": "s", "updatedAt": 1}}
    assert STORES[store_name](small_store).load() == {
        "agent:main:main": {"sessionId": "s", "updatedAt": 1}}


def test_unparseable_store_is_refused_and_left_as_it_was(store_name: str, tmp_path: Path) -> None:
    path = tmp_path / "sessions.json"
    path.write_bytes(b'{"agent:main:main": {"sessionId": ')
    store = STORES[store_name](path)
    with pytest.raises(StoreError, match=r"sessions\.json: invalid JSON at line 1"):
        store.load()
    with pytest.raises(StoreError, match="invalid JSON"):
        store.update(lambda s: None)
    assert path.read_bytes() == b'{"agent:main:main": {"sessionId": '
    assert not lock_path_for(path).exists()


def test_wholefile_serves_independent_deep_copies_from_its_cache(small_store: Path) -> None:
    store = WholeFileStore(small_store)
    first = store.load()
    key = next(iter(first))
    original = json.loads(json.dumps(first[key]))
    first[key]["label"] = "changed by the caller"
    second = store.load()
    assert second[key] == original and second is not first


def test_snapshot_reuses_the_callers_snapshot_while_the_file_is_unchanged(
        small_store: Path) -> None:
    store = SnapshotStore(small_store, env={MAX_BYTES_ENV: "1000"})
    loaded = store.load()
    keys = list(loaded)
    assert store.update(set_label(keys[0], "a"), base_store=loaded).reused_base
    # the snapshot tracks its own write, so a second update can reuse it again
    assert store.update(set_label(keys[1], "b"), base_store=loaded).reused_base
    on_disk = json.loads(small_store.read_text())
    assert (on_disk[keys[0]]["label"], on_disk[keys[1]]["label"]) == ("a", "b")
    # a plain dict, not loaded by this store, is never trusted
    assert not store.update(set_label(keys[0], "c"), base_store=dict(on_disk)).reused_base


def test_snapshot_size_gate_and_its_one_time_warning(small_store: Path,
                                                     capfd: pytest.CaptureFixture) -> None:
    size = small_store.stat().st_size
    over = SnapshotStore(small_store, env={MAX_BYTES_ENV: str(size - 1)})
    over.load()
    over.load()
    assert over._cached is None and over._serialized is None
    warnings = [line for line in capfd.readouterr().err.splitlines() if MAX_BYTES_ENV in line]
    assert len(warnings) == 1 and str(small_store) in warnings[0] and str(size) in warnings[0]

    under = SnapshotStore(small_store, env={MAX_BYTES_ENV: str(size)})
    under.load()
    assert under._cached is not None

    disabled = SnapshotStore(small_store, env={MAX_BYTES_ENV: "0"})
    disabled.load()
    assert disabled._cached is None
    assert MAX_BYTES_ENV not in capfd.readouterr().err


@pytest.mark.parametrize("value", ["", "lots", "-5", "1.5"])
def test_snapshot_invalid_limit_falls_back_to_the_default(small_store: Path, value: str) -> None:
    assert SnapshotStore(small_store, env={MAX_BYTES_ENV: value}).max_cache_bytes == 1_000_000


def test_lock_of_a_dead_process_is_taken_over(small_store: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    lock = lock_path_for(small_store)
    lock.write_text(json.dumps({"pid": int(dead.stdout), "createdAt": 0}))
    store = WholeFileStore(small_store)
    assert store.update(set_label(next(iter(store.load())), "after takeover")).wrote
    assert not lock.exists()


def test_lock_held_by_a_live_process_times_out_with_a_clear_error(small_store: Path) -> None:
    lock = lock_path_for(small_store)
    lock.write_text(json.dumps({"pid": os.getppid(), "createdAt": 0}))
    with pytest.raises(LockTimeout, match=rf"lock still held by pid {os.getppid()}"), \
            store_lock(small_store, timeout_s=0.3):
        pass
    assert json.loads(lock.read_text())["pid"] == os.getppid()  # not taken from a live holder


def test_lock_file_is_private_while_held_and_gone_after(small_store: Path) -> None:
    with store_lock(small_store):
        lock = lock_path_for(small_store)
        assert stat.S_IMODE(lock.stat().st_mode) == 0o600
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert not lock.exists()


NODE_STORE = Path(__file__).resolve().parents[2] / "stores" / "node" / "sessionStore.mjs"


def update_with_node(path: Path) -> None:
    script = (f"import {{ STORES }} from {json.dumps(NODE_STORE.as_uri())};"
              "new STORES.wholefile(process.argv[1]).update((s) => { s.n = { sessionId: 'n' }; });")
    subprocess.run(["node", "--input-type=module", "-e", script, str(path)], check=True,
                   timeout=60)


def dead_pid() -> int:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(dead.stdout)


@pytest.mark.parametrize("runtime", ["python", pytest.param("node", marks=pytest.mark.skipif(
    shutil.which("node") is None, reason="Node.js is not installed"))])
def test_a_claim_left_by_a_waiter_killed_mid_takeover_is_cleared(small_store: Path,
                                                                 runtime: str) -> None:
    # GIVEN a dead writer's lock, and the takeover claim of a waiter that died judging it
    holder = json.dumps({"pid": dead_pid(), "createdAt": 0})
    lock_path_for(small_store).write_text(holder)
    claim_path_for(small_store).write_text(holder)
    # WHEN the next writer updates THEN it clears the claim, takes the lock over, and writes
    if runtime == "python":
        WholeFileStore(small_store).update(lambda s: s.__setitem__("n", {"sessionId": "n"}))
    else:
        update_with_node(small_store)
    assert json.loads(small_store.read_text())["n"] == {"sessionId": "n"}
    assert sorted(p.name for p in small_store.parent.iterdir()) == ["sessions.json"]


def test_a_live_claim_keeps_other_waiters_from_judging_the_lock(small_store: Path) -> None:
    # GIVEN a dead writer's lock that a live waiter (this process) is judging under its claim
    lock_path_for(small_store).write_text(json.dumps({"pid": dead_pid(), "createdAt": 0}))
    claim_path_for(small_store).write_text(json.dumps({"pid": os.getpid(), "createdAt": 0}))
    # THEN no other waiter removes the lock meanwhile
    with pytest.raises(LockTimeout), store_lock(small_store, timeout_s=0.3):
        pass
    assert lock_path_for(small_store).exists() and claim_path_for(small_store).exists()
