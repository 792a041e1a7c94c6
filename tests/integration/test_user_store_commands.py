"""Every command that takes a store takes the same spec: ab, sweep, stress and bench with a
user's Python class and Node module, and one-line refusals where a kind cannot be run."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from session_store_harness.generating.generator import GenerateSpec, generate
from session_store_harness.measuring.processes import child_env, python_module
from tests.integration.user_project import harness, make_project, meta

NEEDS_NODE = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
SMALL = ("--profile", "pr", "--target-kb", "20")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "project")


def test_ab_takes_specs_on_both_sides(project: Path) -> None:
    result = harness(project, "ab", "plain_store.py:PlainStore", "snapshot+reuse", *SMALL,
                     "--cycles", "2", "--sample-every", "1", "--repeat", "1", "-o", "ab")
    assert result.returncode == 0, result.stderr
    before, after = meta(project / "ab" / "before"), meta(project / "ab" / "after")
    assert before["config"]["store_spec"]["kind"] == "python-class"
    assert after["config"]["store"] == "snapshot" and after["config"]["reuse_loaded_store"]
    ab = json.loads((project / "ab" / "ab.json").read_text())
    assert (ab["before"], ab["after"]) == ("plain_store.py:PlainStore", "snapshot+reuse")


@NEEDS_NODE
def test_sweep_takes_a_list_of_specs_of_either_runtime(project: Path) -> None:
    result = harness(project, "sweep", "--sizes", "20", "--stores",
                     "plain_store.py:PlainStore,./store.mjs", "--reuse", "no", "--cycles", "2",
                     "--sample-every", "1", "--repeat", "1", "-o", "sweep")
    assert result.returncode == 0, result.stderr
    cells = sorted(p.name for p in (project / "sweep").iterdir() if p.is_dir())
    assert cells == ["plain_store-PlainStore-20kb", "store-20kb"]
    assert meta(project / "sweep" / "store-20kb")["config"]["runtime"] == "node"


@pytest.mark.parametrize(("store", "writers"), [
    ("plain_store.py:PlainStore", 2),  # it locks: concurrent writers lose nothing
    pytest.param("./store.mjs", 1, marks=NEEDS_NODE),  # it does not: one writer at a time
])
def test_stress_runs_a_users_store_in_its_writers(project: Path, store: str,
                                                  writers: int) -> None:
    result = harness(project, "stress", "--store", store, *SMALL, "--writers", str(writers),
                     "--updates", "10", "--crash-trials", "2", "-o", "stress")
    assert result.returncode == 0, result.stdout + result.stderr
    figures = json.loads((project / "stress" / "stress.json").read_text())
    assert figures["config"]["store_spec"]["written"] == store
    assert figures["concurrency"]["completed_total"] == 10 * writers
    assert figures["crashes"]["trials"] == 2 and figures["crashes"]["corrupt"] == 0


def test_stress_refuses_a_worker_command_in_one_line(project: Path) -> None:
    result = harness(project, "stress", "--worker-cmd", "python3 speaker.py", *SMALL,
                     "-o", "stress")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "stress runs its own writers" in result.stderr
    assert not (project / "stress").exists()


@NEEDS_NODE
def test_bench_refuses_a_node_module_in_one_line(project: Path) -> None:
    result = harness(project, "bench", "--store", "./store.mjs", "-o", "bench.json")
    assert result.returncode == 2 and "bench times Python stores" in result.stderr
    assert not (project / "bench.json").exists()


def test_bench_times_a_users_class_through_pyperfs_workers(project: Path) -> None:
    # GIVEN the pyperf script harness bench starts, with one worker process per benchmark
    store = generate(GenerateSpec("pr", 1, target_kb=20), project / "sessions.json").path
    command = python_module("session_store_harness.measuring.bench_ops", "--store",
                            "myapp.cached:CachedStore", "--python-path", str(project),
                            "--store-file", str(store), "-o", str(project / "bench.json"),
                            "--processes", "1", "--values", "1", "--loops", "1", "--warmups",
                            "0", "--quiet")
    result = subprocess.run(command, cwd=project, env=child_env(), capture_output=True,
                            text=True, timeout=240)
    # THEN the user's class, found through --python-path in every worker, was timed
    assert result.returncode == 0, result.stderr
    timed = json.loads((project / "bench.json").read_text())
    assert [b["metadata"]["name"] for b in timed["benchmarks"]] == [
        "cold-load", "warm-load", "update", "update-with-base"]
