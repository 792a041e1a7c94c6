"""Reference stores under concurrent writers and killed writers (seeded), via `harness stress`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from session_store_harness.generating.generator import GenerateSpec, generate
from session_store_harness.measuring.stress import concurrency, crashes
from tests.conftest import run_cli

CONFIGS = [("wholefile", False), ("snapshot", False), ("snapshot", True)]


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "sessions.json"
    generate(GenerateSpec("pr", 1, target_kb=100), path)
    return path


@pytest.mark.parametrize(("store", "reuse"), CONFIGS)
def test_concurrent_writers_lose_no_update(store_path: Path, store: str, reuse: bool) -> None:
    # GIVEN 4 writer processes x 60 updates, each to its own key and to one shared counter
    result = concurrency(store, store_path, writers=4, updates=60, reuse=reuse)
    # THEN every update counted, every read of the file during the writes was a valid store
    assert result.writer_failures == []
    assert result.shared_count == 240 and set(result.own_counts.values()) == {60}
    assert result.lost == 0 and result.reads > 10 and result.invalid_reads == 0
    assert result.leftovers == []


@pytest.mark.parametrize(("store", "reuse"), [("wholefile", False), ("snapshot", True)])
def test_writers_killed_at_random_points_never_corrupt_the_store(store_path: Path, store: str,
                                                                 reuse: bool) -> None:
    # GIVEN 100 writers killed with SIGKILL after seeded random delays
    result = crashes(store, store_path, trials=100, seed=11, max_delay_s=0.25, reuse=reuse)
    # THEN the file always parsed with every other entry intact and no update undone,
    # and the next writer always took over the lock and swept the temp files
    assert result.corrupt == 0 and result.went_backwards == 0
    assert result.leftovers_after_next_write == 0
    # AND some kills did land inside the critical section (otherwise the test proves little)
    assert result.left_by_kill["locks"] + result.left_by_kill["temp files"] > 0


def test_stress_cli_reports_figures(tmp_path: Path) -> None:
    out = tmp_path / "stress"
    result = run_cli("stress", "--store", "snapshot", "--reuse-loaded-store", "--profile", "pr",
                     "--target-kb", "60", "--writers", "3", "--updates", "20",
                     "--crash-trials", "10", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "60 updates by 3 writers, 0 lost" in result.stdout
    assert "10 writers killed: 0 corrupt files, 0 undone updates" in result.stdout
    figures = json.loads((out / "stress.json").read_text())
    assert figures["concurrency"]["lost"] == 0 and figures["crashes"]["corrupt"] == 0


@pytest.mark.stress
@pytest.mark.parametrize(("store", "reuse"), CONFIGS)
def test_soak_4_writers_x_200_updates_and_300_kills(store_path: Path, store: str,
                                                     reuse: bool) -> None:
    result = concurrency(store, store_path, writers=4, updates=200, reuse=reuse)
    assert result.ok and result.lost == 0
    crash = crashes(store, store_path, trials=300, seed=5, reuse=reuse)
    assert crash.ok
