"""Malformed stores: every store refuses them in one line and leaves the file as it was."""

from __future__ import annotations

import json
import math
import shutil
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from session_store_harness.errors import WORKER_STORE_ERROR
from session_store_harness.measuring.persisted import layout_of
from session_store_harness.measuring.runner import run_worker
from session_store_harness.model.config import RunConfig
from session_store_harness.model.run import WorkerRun
from session_store_harness.stores import STORES, StoreError
from session_store_harness.stores.lock import lock_path_for
from tests.conftest import assert_one_line_error, run_cli

NEEDS_NODE = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")

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


# Numbers JSON.parse refuses (NaN, Infinity) or reads as Infinity (1e400): the gateway could
# not read such a file, or would write `null` in place of the number.
NOT_FINITE = {
    "NaN": (b'{"a": {"sessionId": "1", "n": NaN}}', "NaN is not a JSON number"),
    "Infinity": (b'{"a": {"sessionId": "1", "n": Infinity}}', "Infinity is not a JSON number"),
    "-Infinity": (b'{"a": {"n": [1, -Infinity]}}', "-Infinity is not a JSON number"),
    "1e400": (b'{"a": {"sessionId": "1", "n": 1e400}}', "1e400 is beyond a double's range"),
    "-1E+400": (b'{"a": {"n": {"m": -1E+400}}}', "-1E+400 is beyond a double's range"),
    "5000 digits": (b'{"a": {"n": ' + b"9" * 5000 + b"}}", "beyond a double's range"),
}
DEPTH = 1000


def nested(depth: int) -> dict:
    """An entry `depth` objects deep, built without recursion."""
    inner: dict = {"leaf": 1}
    for _ in range(depth - 1):
        inner = {"x": inner}
    return inner


def deep_file(depth: int) -> bytes:
    return (b'{"a": ' + b'{"x": ' * (depth - 1) + b'{"leaf": 1}' + b"}" * (depth - 1)
            + b"}")


def assert_refused(path: Path, content: bytes, attempts, message: str,
                   store_name: str = "wholefile") -> None:
    for attempt in attempts:
        with pytest.raises(StoreError) as error:
            attempt()
        text = str(error.value)
        assert text.startswith(f"{path}: ") and message in text and "\n" not in text
    assert path.read_bytes() == content
    # nothing left beside the file but what the design keeps there (sqlite: its database)
    own = layout_of(store_name, builtin=True).own_files(path)
    assert sorted(p.name for p in path.parent.iterdir() if p.name not in own) == [path.name]


@pytest.mark.parametrize("store_name", sorted(STORES))
@pytest.mark.parametrize("case", sorted(NOT_FINITE))
def test_a_number_json_parse_cannot_read_is_refused(tmp_path: Path, store_name: str,
                                                    case: str) -> None:
    content, message = NOT_FINITE[case]
    path = tmp_path / "sessions.json"
    path.write_bytes(content)
    store = STORES[store_name](path)
    assert_refused(path, content, (store.load, lambda: store.update(touch_first)), message,
                   store_name)


@pytest.mark.parametrize("store_name", sorted(STORES))
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 10 ** 400],
                         ids=["nan", "inf", "-inf", "10**400"])
def test_a_number_json_cannot_hold_is_never_saved(tmp_path: Path, store_name: str,
                                                  value: float) -> None:
    path = tmp_path / "sessions.json"
    path.write_bytes(VALID)
    store = STORES[store_name](path)

    def set_number(loaded: dict) -> None:
        loaded["agent:main:main"]["n"] = value

    assert_refused(path, VALID, (
        lambda: store.save({"agent:main:main": {"sessionId": "s", "n": value}}),
        lambda: store.update(set_number),
        lambda: store.update(set_number, base_store=store.load())),
        "not a finite number", store_name)
    assert layout_of(store_name, builtin=True).read(path) == json.loads(VALID)


@pytest.mark.parametrize("store_name", sorted(STORES))
def test_nesting_deeper_than_python_can_follow_is_refused(tmp_path: Path,
                                                          store_name: str) -> None:
    # Python refuses (Node reads 1,000 levels but fails on some thousands, depending on its
    # stack): a StoreError naming the file, never a RecursionError out of the store
    path = tmp_path / "sessions.json"
    content = deep_file(DEPTH)
    path.write_bytes(content)
    store = STORES[store_name](path)
    assert_refused(path, content, (store.load, lambda: store.update(touch_first)),
                   "nested too deeply", store_name)
    path.write_bytes(VALID)
    assert_refused(path, VALID, (lambda: store.save({"a": nested(DEPTH)}),), "nested too deeply",
                   store_name)


@pytest.mark.parametrize("store_name", sorted(STORES))
def test_moderate_nesting_round_trips(tmp_path: Path, store_name: str) -> None:
    path = tmp_path / "sessions.json"
    path.write_bytes(deep_file(100))
    store = STORES[store_name](path)
    assert store.load()["a"] == nested(100)
    assert store.update(touch_first).wrote
    on_disk = layout_of(store_name, builtin=True).read
    assert on_disk(path)["a"]["label"] == "changed"
    store.save({"a": nested(150)})
    assert on_disk(path) == {"a": nested(150)}


LONE_SURROGATES = (b'{\n  "\\ud800": {\n    "sessionId": "\\udfff x \\ud83d\\ude00",\n'
                   b'    "label": "\\udbff"\n  }\n}')


def test_sqlite_refuses_a_key_sqlite_text_cannot_hold_in_one_line(tmp_path: Path) -> None:
    # SQLite text is UTF-8: a key with a lone surrogate cannot be a row's key (values can: rows
    # hold ASCII JSON, escapes included)
    path = tmp_path / "sessions.json"
    path.write_bytes(LONE_SURROGATES)
    assert_refused(path, LONE_SURROGATES, (STORES["sqlite"](path).load,),
                   r"session key '\ud800' holds a lone UTF-16 surrogate", "sqlite")
    path.write_bytes(VALID)
    store = STORES["sqlite"](path)
    store.save({"k": {"v": "\udbff x"}})
    assert STORES["sqlite"](path).load() == {"k": {"v": "\udbff x"}}


@pytest.mark.parametrize("store_name", sorted(set(STORES) - {"sqlite"}))
def test_lone_surrogates_are_kept_as_json_stringify_keeps_them(tmp_path: Path,
                                                               store_name: str) -> None:
    # GIVEN a store whose key and values hold lone UTF-16 surrogates, written as escapes
    # (valid JSON; JSON.parse reads it and JSON.stringify writes it back as `\udxxx`)
    path = tmp_path / "sessions.json"
    path.write_bytes(LONE_SURROGATES)
    store = STORES[store_name](path)
    loaded = store.load()
    assert loaded["\ud800"]["label"] == "\udbff"
    # WHEN it is updated THEN the lone surrogates are written back as escapes, a pair as the
    # character it encodes (UTF-8), exactly what JSON.stringify writes
    store.update(lambda s: s["\ud800"].__setitem__("label", "\udc00\ud800"),
                 base_store=loaded)
    assert path.read_bytes() == LONE_SURROGATES.replace(
        b"\\ud83d\\ude00", "\U0001f600".encode()).replace(b"\\udbff", b"\\udc00\\ud800")
    # AND a pair split over two Python characters is joined, as a JavaScript string joins it
    store.save({"k": {"v": "\ud83d" + "\ude00"}})
    assert path.read_bytes() == '{\n  "k": {\n    "v": "\U0001f600"\n  }\n}'.encode()


REFUSED_BY_PYTHON = {"NaN": NOT_FINITE["NaN"][0], "1e400": NOT_FINITE["1e400"][0],
                     "1,000 levels": deep_file(DEPTH)}


@pytest.mark.parametrize("case", sorted(REFUSED_BY_PYTHON))
def test_harness_run_refuses_the_file_in_one_line(tmp_path: Path, case: str) -> None:
    # the parent parses the store as the stores do before any worker starts
    bad = tmp_path / "bad.json"
    bad.write_bytes(REFUSED_BY_PYTHON[case])
    result = run_cli("run", "--store", "snapshot", "--store-file", str(bad), "--cycles", "2",
                     "--run-dir", str(tmp_path / "r"))
    assert_one_line_error(result, 2, str(bad), "nothing was run")
    assert bad.read_bytes() == REFUSED_BY_PYTHON[case]
    assert not (tmp_path / "r").exists()


def run_real_worker(tmp_path: Path, runtime: str, content: bytes) -> tuple[WorkerRun, Path]:
    """The worker process itself on `content`, past the parent's own check of the file."""
    path = tmp_path / "store" / "sessions.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    config = RunConfig(store="snapshot", runtime=runtime, cycles=2, sample_every=1,
                       store_file=path)
    return run_worker(config, path, tmp_path), path


@pytest.mark.parametrize("case", sorted(REFUSED_BY_PYTHON))
def test_the_python_worker_refuses_the_file_with_a_store_error(tmp_path: Path,
                                                              case: str) -> None:
    run, path = run_real_worker(tmp_path, "python", REFUSED_BY_PYTHON[case])
    assert run.status == "failed" and run.worker.exit_code == WORKER_STORE_ERROR
    assert run.error.startswith(f"{path}: ") and "\n" not in run.error
    assert "Traceback" not in run.worker.stderr_tail
    assert path.read_bytes() == REFUSED_BY_PYTHON[case]


@pytest.mark.parametrize("runtime", ["python", pytest.param("node", marks=NEEDS_NODE)])
def test_both_workers_update_a_store_with_lone_surrogates(tmp_path: Path, runtime: str) -> None:
    run, path = run_real_worker(tmp_path, runtime, LONE_SURROGATES)
    assert run.status == "complete", run.error
    written = path.read_bytes()
    assert written.decode("utf-8").startswith('{\n  "\\ud800": {')
    assert json.loads(written)["\ud800"]["label"] == "cycle 2"


@NEEDS_NODE
def test_the_node_worker_reads_1000_levels_and_refuses_its_stacks_limit(tmp_path: Path) -> None:
    # Node handles the 1,000 levels Python refuses; far deeper, its clone and stringify run out
    # of stack, and that is a store error naming the file too, never an uncaught RangeError
    run, _ = run_real_worker(tmp_path / "a", "node", deep_file(DEPTH))
    assert run.status == "complete", run.error
    run, path = run_real_worker(tmp_path / "b", "node", deep_file(50_000))
    assert run.status == "failed" and run.worker.exit_code == WORKER_STORE_ERROR
    assert run.error.startswith(f"{path}: nested too deeply") and "\n" not in run.error
    assert path.read_bytes() == deep_file(50_000)


# ---- the one pre-check `run` and `stress` share (measuring/storefile.checked_entries) --------

WORKERS_REFUSE = {"400 digits": b'{"a": {"n": 1' + b"0" * 400 + b"}}",
                  "4300 digits": b'{"a": {"n": 1' + b"0" * 4299 + b"}}",
                  "900 levels": deep_file(900), "994 levels": deep_file(994),
                  "600 levels": deep_file(600)}


@pytest.mark.parametrize("command", ["run", "stress"])
@pytest.mark.parametrize("case", sorted(WORKERS_REFUSE))
def test_run_and_stress_refuse_what_a_worker_could_not_save(tmp_path: Path, command: str,
                                                            case: str) -> None:
    # GIVEN a store JSON can parse but the Python stores cannot copy or save back
    bad = tmp_path / "mine.json"
    bad.write_bytes(WORKERS_REFUSE[case])
    # WHEN it is run or stressed THEN one line names the user's file, before anything ran
    extra = ("--cycles", "2", "--run-dir", str(tmp_path / "r")) if command == "run" else (
        "--writers", "1", "--updates", "1", "--crash-trials", "0")
    result = run_cli(command, "--store", "snapshot", "--store-file", str(bad), *extra)
    assert_one_line_error(result, 2, f"{bad}:", "nothing was run")
    assert "Traceback" not in result.stderr and "harness-" not in result.stderr
    assert not (tmp_path / "r").exists()
    assert bad.read_bytes() == WORKERS_REFUSE[case]


def test_the_pre_check_leaves_the_worker_headroom() -> None:
    from session_store_harness.measuring.storefile import max_depth
    # a worker copies at most (limit / 2) levels from the top of its stack; the check is lower
    assert 300 < max_depth() < sys.getrecursionlimit() // 2 - 20


def test_the_one_store_check_refuses_empty_stores_and_takes_nested_duplicates(
        tmp_path: Path) -> None:
    # `run`, `ab` and `stress` all take the user's file through copy_user_store
    from session_store_harness.errors import HarnessError
    from session_store_harness.measuring.storefile import copy_user_store

    def checked(content: bytes) -> None:
        mine = tmp_path / "mine.json"
        mine.write_bytes(content)
        copy_user_store(mine, tmp_path / "copy.json")

    with pytest.raises(HarnessError, match="no entries"):
        checked(b"{}")
    # JSON.parse takes the last of two equal keys inside an entry: the stores do too
    checked(b'{"a": {"sessionId": "s", "n": 1, "n": 2}}')
    checked(deep_file(400))
    with pytest.raises(HarnessError, match="appears twice") as error:
        checked(b'{"a": {"n": 1}, "a": {"n": 2}}')
    assert str(error.value).startswith(f"{tmp_path / 'mine.json'}: ")


def test_the_stress_cli_refuses_an_empty_store_in_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"{}")
    result = run_cli("stress", "--store", "snapshot", "--store-file", str(empty),
                     "--writers", "1", "--updates", "1", "--crash-trials", "0")
    assert_one_line_error(result, 2, f"{empty}:", "no entries")
