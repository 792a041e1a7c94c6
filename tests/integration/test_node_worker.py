"""The Node.js stores, measured through the same protocol by a Node worker process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from session_store_harness.measuring.runner import run_worker
from session_store_harness.measuring.stress import writer_command
from session_store_harness.measuring.targets import StoreTarget
from session_store_harness.model.config import RunConfig
from session_store_harness.worker.stress_writer import SHARED_KEY
from tests.conftest import assert_one_line_error, run_cli

NEEDS_NODE = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")


@NEEDS_NODE
@pytest.mark.parametrize(("store", "reuse"), [("wholefile", False), ("snapshot", True)])
def test_node_runs_are_measured_like_python_ones(tmp_path: Path, small_store: Path,
                                                 store: str, reuse: bool) -> None:
    folder = tmp_path / "node"
    result = run_cli("run", "--runtime", "node", "--store", store, "--store-file",
                     str(small_store), "--cycles", "8", "--sample-every", "4", "--repeat", "2",
                     "--run-dir", str(folder), *(["--reuse-loaded-store"] if reuse else []))
    assert result.returncode == 0, result.stderr
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["heap_measure"] == "v8" and meta["config"]["runtime"] == "node"
    assert meta["repeats"][0]["worker"]["runtime"].startswith("node v")
    # the kernel's peak is reset per interval for a Node worker as for a Python one
    assert {r["peak_method"] for r in meta["repeats"]} == {"kernel-per-interval"}
    samples = pd.read_csv(folder / "samples.csv")
    cycles = pd.read_csv(folder / "cycles.csv")
    assert samples["cycle"].tolist() == [0, 4, 8, 0, 4, 8]
    assert (samples["heap_mb"] > 0).all() and (samples["rss_mb"] > 10).all()
    assert cycles["wrote"].all() and cycles["reused_base"].all() == reuse


@NEEDS_NODE
def test_node_snapshot_reuse_never_loses_a_concurrent_writers_updates(small_store: Path,
                                                                       tmp_path: Path) -> None:
    # GIVEN two Python writers bumping counters while the Node store updates with reuse
    writers = [subprocess.Popen(writer_command(StoreTarget("snapshot"), small_store,
                                               f"stress:w{i}", 80, True, False))
               for i in range(2)]
    config = RunConfig(store="snapshot", runtime="node", cycles=60, sample_every=20,
                       reuse_loaded_store=True, store_file=small_store)
    run = run_worker(config, small_store, tmp_path)
    assert all(w.wait(timeout=120) == 0 for w in writers)
    # THEN every counter is whole: no stale snapshot overwrote a Python write
    final = json.loads(small_store.read_text())
    assert final[SHARED_KEY]["count"] == 160
    assert final["stress:w0"]["count"] == final["stress:w1"]["count"] == 80
    assert run.status == "complete" and len(run.cycles) == 60


@NEEDS_NODE
def test_node_refuses_a_corrupt_store(tmp_path: Path) -> None:
    bad = tmp_path / "sessions.json"
    bad.write_bytes(b'{"session:1": {"sessionId": "a"')
    result = run_cli("run", "--runtime", "node", "--store", "snapshot", "--store-file", str(bad),
                     "--run-dir", str(tmp_path / "r"))
    assert_one_line_error(result, 2, "invalid JSON", str(bad))
    assert not (tmp_path / "r").exists()
    assert bad.read_bytes() == b'{"session:1": {"sessionId": "a"'


@NEEDS_NODE
@pytest.mark.parametrize(("args", "fragment"), [
    (("--store", "ballast"), "no node version"),
    (("--store", "snapshot", "--heap", "tracemalloc"), "V8's heapUsed"),
])
def test_node_option_errors(tmp_path: Path, args: tuple[str, ...], fragment: str) -> None:
    assert_one_line_error(run_cli("run", "--runtime", "node", *args, "--profile", "pr",
                                  "--target-kb", "20", "--results-dir", str(tmp_path)), 2,
                          fragment)


def test_without_node_the_run_is_refused_and_leaves_no_folder(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "session_store_harness.cli", "run", "--runtime", "node",
         "--store", "snapshot",
         "--profile", "pr", "--target-kb", "20", "--repeat", "1", "--run-dir",
         str(tmp_path / "r")], capture_output=True, text=True,
        env={**os.environ, "PATH": str(tmp_path)})
    assert result.returncode == 2 and "needs Node.js" in result.stderr
    assert not (tmp_path / "r").exists()
