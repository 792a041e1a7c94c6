"""`harness sweep` in shards, `harness merge`, and `harness calibrate`, on tiny stores."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.conftest import assert_one_line_error, run_cli

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


def test_calibrate_reports_both_rates(tmp_path: Path) -> None:
    out = tmp_path / "cal"
    result = run_cli("calibrate", "--trials", "2", "--repeat", "4", "--target-kb", "100",
                     "--cycles", "4", "--regression", "25%",
                     "--metrics", "rss_last_mb,peak_rss_mb", "-o", str(out))
    assert result.returncode == 0, result.stderr
    calibration = json.loads((out / "calibration.json").read_text())
    assert calibration["trials"] == 2 and calibration["pad_kb"] > 1000
    # a 25% memory regression with 4 repeats a side is caught; A/A never fails
    assert calibration["detection"]["hits"] == 2
    assert calibration["false_fail"]["hits"] == 0
    assert "false-fail rate (A/A): 0/2" in result.stdout
