"""Reference stores under concurrent writers and killed writers (seeded), via `harness stress`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from session_store_harness.generating.generator import GenerateSpec, generate
from session_store_harness.measuring.stress import (
    ConcurrencyResult,
    InvalidStore,
    StressConfig,
    StressReport,
    concurrency,
    crashes,
    strict_parse,
)
from session_store_harness.measuring.targets import StoreTarget
from session_store_harness.stores.jsonfile import parse
from session_store_harness.stores.lock import lock_path_for
from session_store_harness.writers.stress_text import stress_lines
from tests.conftest import assert_one_line_error, run_cli

CONFIGS = [("wholefile", False), ("snapshot", False), ("snapshot", True)]
NEEDS_NODE = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
RUNTIMES = ["python", pytest.param("node", marks=NEEDS_NODE)]


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "sessions.json"
    generate(GenerateSpec("pr", 1, target_kb=100), path)
    return path


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


@pytest.mark.parametrize(("store", "reuse"), CONFIGS)
def test_concurrent_writers_lose_no_update(store_path: Path, store: str, reuse: bool) -> None:
    # GIVEN 4 writer processes x 60 updates, each to its own key and to one shared counter
    result = concurrency(StoreTarget(store), store_path, writers=4, updates=60, reuse=reuse)
    # THEN every update counted, every read of the file during the writes was a valid store
    assert result.writer_failures == [] and result.timeouts == []
    assert result.shared_count == 240 and set(result.own_counts.values()) == {60}
    assert result.completed_total == 240 and set(result.completed.values()) == {60}
    assert result.lost == 0 and result.reads > 10 and result.invalid_reads == 0
    assert result.leftovers == []


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize(("store", "reuse"), [("wholefile", False), ("snapshot", True)])
def test_writers_starting_together_take_over_a_stale_lock_safely(
        store_path: Path, runtime: str, store: str, reuse: bool) -> None:
    # GIVEN a lock left by a dead writer, and 6 writers that begin in the same millisecond
    lock_path_for(store_path).write_text(json.dumps({"pid": dead_pid(), "createdAt": 0}))
    result = concurrency(StoreTarget(store, runtime), store_path, writers=6, updates=30,
                         reuse=reuse)
    # THEN exactly one took the dead lock over at a time: no writer swept another's temp file
    # (ENOENT on rename) and no two held the lock at once (lost updates)
    assert result.writer_failures == [] and result.timeouts == []
    assert result.lost == 0 and result.shared_count == result.completed_total == 180
    assert result.invalid_reads == 0 and result.leftovers == []


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_writers_that_give_up_on_the_lock_are_timeouts_not_lost_updates(
        store_path: Path, runtime: str) -> None:
    # GIVEN a lock held by a live process for longer than the writers' 10 s timeout
    lock_path_for(store_path).write_text(json.dumps({"pid": os.getpid(), "createdAt": 0}))
    result = concurrency(StoreTarget("snapshot", runtime), store_path, writers=2, updates=5,
                         reuse=False)
    # THEN both writers gave up, completed nothing, and nothing counts as lost
    assert len(result.timeouts) == 2 and "lock still held by pid" in result.timeouts[0]
    assert result.writer_failures == [] and result.completed == {
        "stress:writer-0": 0, "stress:writer-1": 0}
    assert result.lost == 0 and not result.ok
    lock_path_for(store_path).unlink()


def test_lost_counts_only_updates_writers_reported_as_completed() -> None:
    # 64 writers x 50: 2,350 completed and counted, the rest given up on the lock
    completed = {f"stress:writer-{i}": 50 if i < 40 else (i - 40) * 10 % 50 for i in range(64)}
    done = sum(completed.values())
    timed_out = ConcurrencyResult(
        writers=64, updates_each=50, reuse_loaded_store=False, shared_count=done,
        own_counts=dict(completed), writer_failures=[], reads=5, invalid_reads=0,
        leftovers=[], completed=completed, timeouts=["lock still held"] * 20)
    assert timed_out.lost == 0 and timed_out.attempted - done > 0
    config = StressConfig(store="wholefile", generate=None, store_file=Path("s.json"),
                          writers=64, updates=50)
    line = stress_lines(StressReport(config, (), timed_out, None))[0]
    assert f"3200 updates by 64 writers, 0 lost, {done} completed (20 of 64 writers gave up" in line
    assert StressReport(config, (), timed_out, None).problems() == [
        "20 writers that gave up waiting for the lock"]
    # a writer's own counter short of what it reported is lost, whatever the shared counter says
    lost_one = ConcurrencyResult(
        writers=2, updates_each=5, reuse_loaded_store=False, shared_count=9,
        own_counts={"a": 5, "b": 4}, writer_failures=[], reads=1, invalid_reads=0,
        leftovers=[], completed={"a": 5, "b": 5})
    assert lost_one.lost == 1 and lost_one.problems() == ["1 lost updates"]


@pytest.mark.parametrize(("store", "reuse"), [("wholefile", False), ("snapshot", True)])
def test_writers_killed_at_random_points_never_corrupt_the_store(store_path: Path, store: str,
                                                                 reuse: bool) -> None:
    # GIVEN 100 writers killed with SIGKILL after seeded random delays
    result = crashes(StoreTarget(store), store_path, trials=100, seed=11, max_delay_s=0.25,
                     reuse=reuse)
    # THEN the file always parsed with every other entry intact and no update undone,
    # and the next writer always took over the lock and swept the temp files
    assert result.corrupt == 0 and result.went_backwards == 0
    assert result.leftovers_after_next_write == 0 and result.next_write_failures == 0
    # AND some kills did land inside the critical section (otherwise the test proves little)
    assert result.left_by_kill["locks"] + result.left_by_kill["temp files"] > 0


# serial: Node's start-up on a loaded machine outlasts the 0.25 s kill delays, so no kill lands
# mid-update (0 of 40 did beside 3 other xdist workers at a load average of 5)
@pytest.mark.serial
@NEEDS_NODE
@pytest.mark.parametrize(("store", "reuse"), [("wholefile", False), ("snapshot", True)])
def test_node_writers_killed_at_random_points_never_corrupt_the_store(
        store_path: Path, store: str, reuse: bool) -> None:
    result = crashes(StoreTarget(store, "node"), store_path, trials=40, seed=11,
                     max_delay_s=0.25, reuse=reuse)
    assert result.ok, result
    assert result.left_by_kill["locks"] + result.left_by_kill["temp files"] > 0


@pytest.mark.parametrize(("content", "fragment"), [
    (b'{"a": {"n": NaN}}', "NaN"), (b'{"a": {"n": Infinity}}', "Infinity"),
    (b'{"a": {"n": -Infinity}}', "-Infinity"), (b'{"a": {"n": 1e400}}', "1e400"),
    (b'{"a": {"n": -1e400}}', "-1e400"), (b'{"a": {"n": 1' + b"0" * 400 + b"}}", "integer"),
    (b'{"a": {"n": 1, "n": 2}}', "twice"), (b'{"a": 1}', "object of objects"),
])
def test_the_stress_check_is_stricter_than_the_stores_parser(tmp_path: Path, content: bytes,
                                                             fragment: str) -> None:
    # the stores once accepted NaN and Infinity, so a check made with their parser called a
    # file JSON.parse cannot read "0 corrupt"; the stress check is a parser of its own
    with pytest.raises(InvalidStore, match=fragment):
        strict_parse(content, tmp_path / "s.json")
    assert strict_parse(b'{"\\ud800": {"n": 1e308}}', tmp_path / "s.json") == {
        "\ud800": {"n": 1e308}}


def test_a_store_file_the_check_refuses_is_not_stressed(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"a": {"sessionId": "s", "n": NaN}}')
    result = run_cli("stress", "--store", "snapshot", "--store-file", str(bad),
                     "--writers", "1", "--updates", "1", "--crash-trials", "0")
    assert_one_line_error(result, 2, str(bad), "nothing was run")


def test_stress_cli_reports_figures(tmp_path: Path) -> None:
    out = tmp_path / "stress"
    result = run_cli("stress", "--store", "snapshot", "--reuse-loaded-store", "--profile", "pr",
                     "--target-kb", "60", "--writers", "3", "--updates", "20",
                     "--crash-trials", "10", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "60 updates by 3 writers, 0 lost, 60 completed;" in result.stdout
    assert "10 writers killed: 0 corrupt files, 0 undone updates" in result.stdout
    figures = json.loads((out / "stress.json").read_text())
    assert figures["concurrency"]["lost"] == 0 and figures["crashes"]["corrupt"] == 0
    assert figures["config"]["runtime"] == "python"


@NEEDS_NODE
def test_stress_cli_runs_the_node_stores(tmp_path: Path) -> None:
    result = run_cli("stress", "--runtime", "node", "--store", "snapshot",
                     "--reuse-loaded-store", "--profile", "pr", "--target-kb", "60",
                     "--writers", "3", "--updates", "20", "--crash-trials", "10")
    assert result.returncode == 0, result.stderr
    assert "[stress] snapshot + reuse (node): 60 updates by 3 writers, 0 lost" in result.stdout
    assert "10 writers killed: 0 corrupt files, 0 undone updates" in result.stdout


def test_stress_cli_refuses_a_store_node_does_not_have() -> None:
    assert_one_line_error(run_cli("stress", "--runtime", "node", "--store", "ballast",
                                  "--crash-trials", "0"), 2, "no node version")


@pytest.mark.stress
@pytest.mark.parametrize(("store", "reuse"), CONFIGS)
def test_soak_4_writers_x_200_updates_and_300_kills(store_path: Path, store: str,
                                                     reuse: bool) -> None:
    result = concurrency(StoreTarget(store), store_path, writers=4, updates=200, reuse=reuse)
    assert result.ok and result.lost == 0
    crash = crashes(StoreTarget(store), store_path, trials=300, seed=5, reuse=reuse)
    assert crash.ok


@pytest.mark.stress
@NEEDS_NODE
@pytest.mark.parametrize(("store", "reuse"), [("wholefile", False), ("snapshot", True)])
def test_soak_node_4_writers_x_200_updates_and_300_kills(store_path: Path, store: str,
                                                          reuse: bool) -> None:
    target = StoreTarget(store, "node")
    result = concurrency(target, store_path, writers=4, updates=200, reuse=reuse)
    assert result.ok and result.lost == 0
    crash = crashes(target, store_path, trials=300, seed=5, reuse=reuse)
    assert crash.ok


def test_the_stores_parser_and_the_stress_check_agree_on_generated_stores(
        store_path: Path) -> None:
    raw = store_path.read_bytes()
    assert strict_parse(raw, store_path) == parse(raw, store_path)
