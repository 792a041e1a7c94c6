"""The harness under faults: killed, interrupted and babbling workers; no orphans left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from session_store_harness.generating.generator import GenerateSpec, generate
from session_store_harness.measuring.runner import run_worker
from session_store_harness.model.config import RunConfig
from tests.conftest import REPO

LONG_RUN = ("run", "--repeat", "1", "--store", "wholefile", "--profile", "realistic",
            "--target-kb", "1500", "--cycles", "100000", "--sample-every", "1")


STARTED: list[subprocess.Popen[str]] = []


def start_cli(*args: str) -> subprocess.Popen[str]:
    process = subprocess.Popen([sys.executable, "-m", "session_store_harness.cli", *args],
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    STARTED.append(process)
    return process


@pytest.fixture(autouse=True)
def _no_harness_left_running() -> Iterator[None]:
    """A test that fails half-way must not leave its 100,000-cycle run going: kill each harness
    it started (by the process group recorded at start) and close its pipes."""
    yield
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()


def _command_line(process: psutil.Process) -> str:
    """A child's command line; "" for one that exited meanwhile (a zombie the harness has not
    reaped yet, such as its `git` probe, has no command line to read)."""
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


def wait_for_worker(harness: subprocess.Popen[str], folder: Path) -> psutil.Process:
    """The worker, once it has sent a few samples."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        workers = [c for c in psutil.Process(harness.pid).children(recursive=True)
                   if "session_store_harness.worker" in _command_line(c)]
        if workers:
            time.sleep(1.5)  # let some cycles and samples happen
            return workers[0]
        if harness.poll() is not None:
            raise AssertionError(f"harness exited early: {harness.communicate()[1]}")
        time.sleep(0.05)
    raise AssertionError("worker never started")


def test_worker_killed_by_sigkill_is_a_failed_run_with_its_samples(tmp_path: Path) -> None:
    folder = tmp_path / "killed"
    harness = start_cli(*LONG_RUN, "--run-dir", str(folder))
    worker = wait_for_worker(harness, folder)
    worker.send_signal(signal.SIGKILL)  # what the OOM killer does
    _, stderr = harness.communicate(timeout=60)
    assert harness.returncode == 1
    assert "worker killed by SIGKILL" in stderr and "Traceback" not in stderr
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["status"] == "failed" and meta["complete"] is False
    assert meta["repeats"][0]["worker"]["exit_code"] == -9
    assert len((folder / "samples.csv").read_text().splitlines()) > 2


def test_ctrl_c_leaves_a_marked_incomplete_result_and_no_orphans(tmp_path: Path) -> None:
    folder = tmp_path / "interrupted"
    harness = start_cli(*LONG_RUN, "--run-dir", str(folder))
    worker = wait_for_worker(harness, folder)
    harness.send_signal(signal.SIGINT)
    _, stderr = harness.communicate(timeout=60)
    assert harness.returncode == 130, stderr
    assert "Traceback" not in stderr
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["status"] == "interrupted" and meta["complete"] is False
    assert "samples.csv" in {p.name for p in folder.iterdir()}
    assert not list(folder.glob(".*partial"))  # every file was completed, then renamed
    with pytest.raises(psutil.NoSuchProcess):
        worker.status()  # killed, not orphaned


@pytest.mark.parametrize(("script", "error"), [
    ("import os, sys; os.write(int(sys.argv[1]), b'garbage\\n')", "broke the protocol"),
    ("import sys; print('noise on stdout'); sys.exit(5)", "exited with code 5"),
    ("import os, sys; os.write(int(sys.argv[1]), b'{\"type\": \"sample\"}\\n')",
     "sample message lacks"),
])
def test_a_worker_that_breaks_the_protocol_fails_cleanly(tmp_path: Path, script: str,
                                                         error: str) -> None:
    store = tmp_path / "sessions.json"
    generate(GenerateSpec("pr", 1, target_kb=20), store)
    config = RunConfig(store="wholefile", cycles=2, sample_every=1, store_file=store)
    run = run_worker(config, store, tmp_path,
                     command=lambda msg_fd, ack_fd: [sys.executable, "-c", script, str(msg_fd)])
    assert run.status == "failed" and error in run.error


def test_a_store_that_prints_cannot_corrupt_the_samples(tmp_path: Path) -> None:
    # the fixed store warns on stderr about a store over its cache limit; the run is whole
    store = tmp_path / "sessions.json"
    generate(GenerateSpec("pr", 1, target_kb=40), store)
    config = RunConfig(store="snapshot", cycles=3, sample_every=1, store_file=store,
                       env=(("OPENCLAW_SESSION_OBJECT_CACHE_MAX_BYTES", "1000"),))
    run = run_worker(config, store, tmp_path)
    assert run.status == "complete" and len(run.samples) == 4
    assert "over the object cache limit" in run.worker.stderr_tail
