"""`harness sweep` in shards, `harness merge`, and `harness calibrate` (with a noisy neighbour), on
tiny stores."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, assert_one_line_error, burner_running, gone_within, run_cli

SWEEP = ("--sizes", "60,120", "--stores", "wholefile,snapshot", "--reuse", "both",
         "--profile", "pr", "--cycles", "3", "--sample-every", "1", "--repeat", "1")


def test_sharded_sweep_merges_into_the_whole_matrix(tmp_path: Path) -> None:
    shards = [tmp_path / f"shard-{i}" for i in (1, 2, 3)]
    for index, folder in enumerate(shards, start=1):
        result = run_cli("sweep", *SWEEP, "--shard", f"{index}/3", "-o", str(folder))
        assert result.returncode == 0, result.stderr
    merged = tmp_path / "merged"
    result = run_cli("merge", *map(str, shards), "-o", str(merged))
    assert result.returncode == 0, result.stderr
    assert "missing" not in result.stderr
    rows = list(csv.DictReader((merged / "sweep.csv").read_text().splitlines()))
    assert [r["cell"] for r in rows] == [
        "wholefile-60kb", "wholefile-reuse-60kb", "snapshot-60kb", "snapshot-reuse-60kb",
        "wholefile-120kb", "wholefile-reuse-120kb", "snapshot-120kb", "snapshot-reuse-120kb"]
    assert all(r["status"] == "complete" and float(r["rss_last_mb"]) > 5 for r in rows)
    assert json.loads((merged / "sweep.json").read_text())["shard"] == "merged"
    # merging a shard twice is refused: no cell may appear twice
    assert_one_line_error(run_cli("merge", str(shards[0]), str(shards[0]), "-o",
                                  str(tmp_path / "twice")), 2, "is in both")


def test_merge_warns_about_missing_cells(tmp_path: Path) -> None:
    folder = tmp_path / "only-1"
    assert run_cli("sweep", *SWEEP, "--shard", "1/4", "-o", str(folder)).returncode == 0
    result = run_cli("merge", str(folder), "-o", str(tmp_path / "m"))
    assert result.returncode == 0
    assert "cells missing from the matrix" in result.stderr


CALIBRATE = ("calibrate", "--trials", "2", "--repeat", "5", "--target-kb", "60", "--cycles",
             "3", "--plants", "5%", "--plant-kb", "2048", "--noise", "cpu+memory",
             "--noise-mb", "32")


def start_calibrate(*args: str) -> subprocess.Popen[str]:
    """`harness calibrate ARGS...` as a child we can signal while it runs."""
    return subprocess.Popen([sys.executable, "-m", "session_store_harness.cli", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)


def first_figures(out: Path, calibrate: subprocess.Popen[str]) -> dict:
    """calibration.json as soon as the first trial has been judged."""
    path = out / "calibration.json"
    deadline = time.monotonic() + 120
    while not path.exists():
        assert calibrate.poll() is None, calibrate.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.1)
    return json.loads(path.read_text())


def burner_pids(figures: dict) -> list[int]:
    return [burner["pid"] for burner in figures["noise"]["burners"]]


# serial: its CPU and memory burners would slow the tests running beside it
@pytest.mark.serial
def test_calibrate_with_noise_judges_every_kind_and_leaves_no_burner(tmp_path: Path) -> None:
    # GIVEN a calibration of every kind, CPU and memory burners beside it
    out = tmp_path / "cal"
    calibrate = start_calibrate(*CALIBRATE, "-o", str(out))
    try:
        # THEN the burners it recorded run while it calibrates
        pids = burner_pids(first_figures(out, calibrate))
        assert len(pids) == 2 and all(burner_running(pid) for pid in pids)
        stdout, stderr = calibrate.communicate(timeout=240)
    finally:
        calibrate.kill()
        calibrate.communicate()
    assert calibrate.returncode == 0, stderr
    # and are gone when it ends
    assert gone_within(pids, 2)
    figures = json.loads((out / "calibration.json").read_text())
    assert figures["trials"] == 2 and figures["noise"]["kind"] == "cpu+memory"
    assert figures["noise"]["block_mb"] == 32
    kinds = figures["by_kind"]
    assert list(kinds) == ["aa", "aa-layout", "plant-5%", "plant-2048KB"]
    # every kind's counts add up, trial by trial
    assert len(figures["trial_log"]) == 2 * len(kinds)
    for name, kind in kinds.items():
        assert kind["trials"] == 2 == kind["fail"]["hits"] + kind["inconclusive"] + kind["pass"]
        log = [t for t in figures["trial_log"] if t["kind"] == name]
        assert kind["fail"]["hits"] == sum(t["outcome"] == "fail" for t in log)
        assert set(kind["by_metric"]) == {"rss_steady_mb", "peak_rss_mb", "cycle_ms_median"}
        assert kind["repeats_a_side"] == {"median": 5, "max": 5}
        # 5 repeats a side is the fixed-5 design itself: the same verdicts, a little sooner
        assert kind["fixed_5"]["fail"] == kind["fail"]
        assert all(t["fixed_5"] == t["outcome"] for t in log)
        assert all(0 < t["fixed_5_wall_s_estimate"] <= t["wall_s"] for t in log)
    # the 5% plant is sized from the first baseline's steady RSS; the fixed one is as asked
    baseline = figures["baseline_rss_steady_mb"]
    assert abs(kinds["plant-5%"]["pad_kb"] - baseline * 0.05 * 1024) <= 1
    assert kinds["plant-2048KB"]["pad_kb"] == 2048
    assert kinds["plant-2048KB"]["fail"]["hits"] == 2  # 2 MiB on ~19 MB: caught every time
    # and the sides of a plant ran with the same environment, the A/A layout's did not
    plant = tmp_path / "cal" / "trial-001-plant-2048KB"
    assert env_of(plant / "before") == env_of(plant / "after") == {"HARNESS_PAD_KB": "2048"}
    layout = tmp_path / "cal" / "trial-001-aa-layout"
    assert (env_of(layout / "before"), env_of(layout / "after")) == ({}, {"HARNESS_PAD_KB": "0"})
    assert "aa-layout" in stdout and "fixed-5" in stdout and "cpu+memory" in stdout


def env_of(folder: Path) -> dict:
    return json.loads((folder / "meta.json").read_text())["config"]["env"]


def test_plants_alone_are_sized_by_a_baseline_run_of_their_own(tmp_path: Path) -> None:
    out = tmp_path / "cal"
    result = run_cli("calibrate", "--kinds", "plants", "--plants", "10%", "--plant-kb", "0",
                     "--trials", "1", "--repeat", "4", "--target-kb", "50", "--cycles", "2",
                     "-o", str(out))
    assert result.returncode == 0, result.stderr
    figures = json.loads((out / "calibration.json").read_text())
    sizing = json.loads((out / "sizing" / "summary.json").read_text())
    steady = sizing["metrics"]["rss_steady_mb"]["median"]
    # both are written to 0.001 MB: a median on a half-way figure (19.5525) may round either
    # way in the two files, one unit apart, as one run of this test showed (19.552 vs 19.553)
    assert figures["baseline_rss_steady_mb"] == pytest.approx(steady, abs=0.0011)
    assert abs(figures["by_kind"]["plant-10%"]["pad_kb"] - steady * 0.1 * 1024) <= 2
    assert figures["noise"] == {"kind": "none", "workers": 1, "block_mb": 256, "burners": []}
    assert figures["by_kind"]["plant-10%"]["fixed_5"] is None  # 4 repeats: no fixed-5 view


@pytest.mark.serial
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_calibration_kills_its_burners_and_keeps_its_figures(
        tmp_path: Path, signum: int) -> None:
    out = tmp_path / "cal"
    calibrate = start_calibrate(*CALIBRATE, "--trials", "50", "-o", str(out))
    try:
        pids = burner_pids(first_figures(out, calibrate))
        assert all(burner_running(pid) for pid in pids)
        calibrate.send_signal(signum)  # Ctrl-C, or a CI runner's stop
        stdout, stderr = calibrate.communicate(timeout=60)
    finally:
        calibrate.kill()
        calibrate.communicate()
    assert calibrate.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert gone_within(pids, 2)
    figures = json.loads((out / "calibration.json").read_text())
    assert figures["trial_log"] and figures["trials"] < 50
    assert "gate fails (95% CI)" in stdout  # the figures so far, printed too


@pytest.mark.parametrize(("args", "fragment"), [
    (("--noise", "gpu"), "--noise"),
    (("--noise", "cpu", "--noise-workers", "0"), "--noise-workers must be between 1"),
    (("--noise", "memory", "--noise-mb", "0"), "--noise-mb must be between 1"),
    (("--kinds", "aa,ab"), "--kinds takes one or more of aa, aa-layout, plants"),
    (("--plants", "150%"), "--plants takes shares"),
    (("--kinds", "plants", "--plants", "none", "--plant-kb", "0"), "needs --plants or"),
    (("--trials", "0"), "--trials must be between 1"),
    (("--repeat", "5", "--max-repeat", "3"), "--max-repeat must be between 5"),
    (("--threshold", "lots"), "must look like 10%"),
    (("--metrics", "rss_nope"), "unknown gate metric"),
])
def test_bad_calibrate_options_are_one_line_errors(tmp_path: Path, args: tuple[str, ...],
                                                   fragment: str) -> None:
    out = tmp_path / "cal"
    assert_one_line_error(run_cli("calibrate", *args, "-o", str(out)), 2, fragment)
    assert not out.exists()  # refused before anything was made
