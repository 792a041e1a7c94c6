"""The worker's own exit codes come from the one table in errors.py and mean one thing each."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from session_store_harness.errors import EXIT_CODES, WORKER_RUNNER_GONE, WORKER_STORE_ERROR
from session_store_harness.generating.generator import GenerateSpec
from session_store_harness.measuring.processes import child_env, python_module
from session_store_harness.measuring.runner import run_worker
from session_store_harness.model.config import RunConfig


def test_a_store_error_in_the_worker_exits_with_its_own_code(tmp_path: Path) -> None:
    # GIVEN a worker pointed at a store file that vanished after it was checked
    config = RunConfig(store="snapshot", cycles=3, sample_every=1,
                       generate=GenerateSpec("pr", 1, target_kb=20))
    repeat = run_worker(config, tmp_path / "gone.json", tmp_path)
    # THEN the run failed with the store's message and the worker's store-error code
    assert repeat.status == "failed" and "does not exist" in (repeat.error or "")
    assert repeat.worker.exit_code == WORKER_STORE_ERROR


def test_a_worker_whose_runner_went_away_exits_with_its_own_code(tmp_path: Path,
                                                                 pr_store: Path) -> None:
    msg_r, msg_w = os.pipe()
    ack_r, ack_w = os.pipe()
    os.close(ack_w)  # nobody will ever acknowledge a sample
    command = python_module("session_store_harness.worker", "--store", "snapshot", "--path",
                            str(pr_store), "--cycles", "2", "--sample-every", "1",
                            "--msg-fd", str(msg_w), "--ack-fd", str(ack_r))
    process = subprocess.Popen(command, pass_fds=(msg_w, ack_r), env=child_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(msg_w)
    os.close(ack_r)
    try:
        assert process.wait(timeout=60) == WORKER_RUNNER_GONE
    finally:
        os.close(msg_r)
    assert WORKER_RUNNER_GONE not in EXIT_CODES and WORKER_STORE_ERROR not in EXIT_CODES
