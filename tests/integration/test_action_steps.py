"""The composite action's own shell steps, run as GitHub would run them (bash -e -o pipefail,
inputs in the environment), in a scratch repository with a bare `origin`: the YAML's few
lines of glue are tested, not only the commands they call."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ACTION = Path(__file__).resolve().parents[2] / "actions" / "memory-gate" / "action.yml"
CONFIG = """profile = "pr"
target_kb = 60
cycles = 4
sample_every = 2
[stores.app]
store = "{store}"
[gate]
max_regression = "5%"
metrics = ["peak_rss_mb"]
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def step(step_id: str) -> dict[str, Any]:
    return next(s for s in yaml.safe_load(ACTION.read_text())["runs"]["steps"]
                if s.get("id") == step_id)


def run_step(step_id: str, cwd: Path, runner: Path, **inputs: str) -> tuple[int, dict, str]:
    """The step's script with its env (inputs by their names), as GitHub's `shell: bash` runs
    it; returns the exit code, what it wrote to GITHUB_OUTPUT, and its output."""
    runner.mkdir()
    harness_bin = runner / "session-store-harness" / "bin"
    harness_bin.mkdir(parents=True)
    (harness_bin / "harness").symlink_to(Path(sys.executable).parent / "harness")
    (harness_bin / "python").symlink_to(sys.executable)
    (runner / "output").touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env.update({"RUNNER_TEMP": str(runner), "GITHUB_OUTPUT": str(runner / "output"),
                "GITHUB_STEP_SUMMARY": str(runner / "summary.md"), "GITHUB_RUN_ID": "9",
                "GITHUB_RUN_ATTEMPT": "1", "GITHUB_SHA": git(cwd, "rev-parse", "HEAD"),
                "GITHUB_REF_NAME": "main"})
    for name, value in step(step_id)["env"].items():
        key = value.removeprefix("${{ inputs.").removesuffix(" }}")
        env[name] = inputs.get(key.replace("-", "_"), "")
    done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                           step(step_id)["run"]], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)
    outputs = dict(line.split("=", 1) for line in (runner / "output").read_text().splitlines())
    return done.returncode, outputs, done.stdout + done.stderr


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    origin, work = tmp_path / "origin.git", tmp_path / "work"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    subprocess.run(["git", "clone", "-q", str(origin), str(work)], check=True,
                   capture_output=True)
    git(work, "config", "user.email", "ci@example.invalid")
    git(work, "config", "user.name", "ci test")
    (work / "harness.toml").write_text(CONFIG.format(store="wholefile"))
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "one")
    git(work, "push", "-q", "origin", "main")
    return work


def test_the_ci_step_passes_inputs_and_reports_the_gates_outcome(clone: Path,
                                                                 tmp_path: Path) -> None:
    git(clone, "checkout", "-q", "-b", "feature")
    (clone / "harness.toml").write_text(CONFIG.format(store="snapshot"))
    git(clone, "commit", "-q", "-am", "two")
    code, outputs, said = run_step("ci", clone, tmp_path / "runner", store="app", base="main",
                                   repeat="5", comment="never", comment_key="memory",
                                   args="--seed 4")
    results = Path(outputs["results"])
    gate = json.loads((results / "gate.json").read_text())
    assert (int(outputs["exit-code"]), outputs["outcome"]) == (gate["exit_code"],
                                                                gate["outcome"]), said
    assert code == 0  # the step reports; the Verdict step fails the job
    meta = json.loads((results / "ab" / "after" / "meta.json").read_text())
    assert meta["config"]["generate"]["seed"] == 4  # `args` reached harness ci
    assert (tmp_path / "runner" / "summary.md").read_text().startswith(
        "<!-- session-store-harness:memory -->")


def test_the_history_step_keeps_one_record_per_push_on_its_branch(clone: Path,
                                                                   tmp_path: Path) -> None:
    inputs = {"history_branch": "harness-history", "store": "app", "repeat": "1",
              "args": "--seed 2"}
    first = run_step("history", clone, tmp_path / "runner-1", **inputs)
    assert first[0] == 0, first[2]
    (clone / "notes.txt").write_text("a second commit on main\n")
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", "two")
    git(clone, "push", "-q", "origin", "main")
    second = run_step("history", clone, tmp_path / "runner-2", **inputs)
    assert second[0] == 0, second[2]
    # origin's history branch holds both commits, oldest first, and nothing of main's tree
    origin = tmp_path / "origin.git"
    lines = git(origin, "show", "harness-history:history/history.jsonl").splitlines()
    assert [json.loads(line)["commit"] for line in lines] == [
        git(clone, "rev-parse", "HEAD~1"), git(clone, "rev-parse", "HEAD")]
    assert "harness.toml" not in git(origin, "ls-tree", "-r", "--name-only", "harness-history")
    summary = (tmp_path / "runner-2" / "summary.md").read_text()
    assert "Too little history to detect steps" in summary
