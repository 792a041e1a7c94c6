"""A user's own store, measured from the user's folder outside this repository with the
installed harness: Python classes (file.py:Class, module:Class, an entry point), Node and
TypeScript modules, and a --worker-cmd program, each through run, compare and gate."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from session_store_harness.measuring.environment import GIT_LOCATION_VARIABLES
from tests.integration.user_project import (
    NODE_WORKER,
    RUN_ARGS,
    harness,
    install_distribution,
    make_project,
    meta,
)

NEEDS_NODE = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "project")


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "u", "GIT_AUTHOR_EMAIL": "u@example.com",
           "GIT_COMMITTER_NAME": "u", "GIT_COMMITTER_EMAIL": "u@example.com"}
    env = {k: v for k, v in env.items() if k not in GIT_LOCATION_VARIABLES}
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def run_ok(project: Path, folder: str, *store: str) -> dict:
    result = harness(project, "run", *store, *RUN_ARGS, "--run-dir", folder)
    assert result.returncode == 0, result.stderr
    return meta(project / folder)


def compare_and_gate(project: Path, before: str, after: str, *allowed: str
                     ) -> tuple[str, subprocess.CompletedProcess[str]]:
    """compare's report.md, and the gate's result (1 repeat a side: inconclusive, exit 3)."""
    compared = harness(project, "compare", before, after, "-o", f"cmp-{after}")
    assert compared.returncode == 0, compared.stderr
    gated = harness(project, "gate", after, "--baseline", before, "--max-regression", "50%",
                    "--max-peak-rss-mb", "2000", *allowed)
    return (project / f"cmp-{after}" / "report.md").read_text(), gated


def test_python_classes_by_file_and_by_module(project: Path) -> None:
    # GIVEN the user's store, committed in their own repository, and a changed copy
    git(project, "init", "-q")
    git(project, "add", "plain_store.py")
    git(project, "commit", "-qm", "store")
    head = git(project, "rev-parse", "HEAD")
    # WHEN each is run by file.py:Class and by package.module:Class
    before = run_ok(project, "before", "--store", "plain_store.py:PlainStore")
    after = run_ok(project, "after", "--store", "myapp.cached:CachedStore")
    # THEN meta.json records each spec, its kind, target and source, with the source's hash
    spec = before["config"]["store_spec"]
    assert spec["written"] == "plain_store.py:PlainStore" and spec["kind"] == "python-class"
    assert spec["target"] == f"{project / 'plain_store.py'}:PlainStore"
    code = before["environment"]["code_under_test"]["store"]
    assert code["path"] == str(project / "plain_store.py")
    assert code["sha256"] == hashlib.sha256((project / "plain_store.py").read_bytes()).hexdigest()
    assert (code["git_commit"], code["git_file_state"]) == (head, "committed")
    assert after["config"]["store_spec"]["target"] == "myapp.cached:CachedStore"
    assert after["environment"]["code_under_test"]["store"]["git_file_state"] == "untracked"
    assert before["config"]["label"] == "plain_store-PlainStore"
    # AND compare and gate show both specs
    report, gated = compare_and_gate(project, "before", "after")
    assert "plain_store.py:PlainStore" in report and "myapp.cached:CachedStore" in report
    assert "| store kind | python-class | python-class |" in report
    assert "Not comparable" not in report
    assert gated.returncode == 3, gated.stderr  # judged: too few repeats to call it
    assert "[gate] candidate: myapp.cached:CachedStore (python-class)" in gated.stdout
    assert "[gate] baseline: plain_store.py:PlainStore (python-class)" in gated.stdout


def test_a_changed_store_is_recorded_as_modified_on_a_dirty_commit(project: Path) -> None:
    git(project, "init", "-q")
    git(project, "add", "plain_store.py")
    git(project, "commit", "-qm", "store")
    with (project / "plain_store.py").open("a") as source:
        source.write("# changed\n")
    code = run_ok(project, "changed", "--store", "plain_store.py:PlainStore")[
        "environment"]["code_under_test"]["store"]
    assert code["git_file_state"] == "modified" and code["git_commit"].endswith("-dirty")


def test_an_entry_point_store_from_an_installed_distribution(project: Path) -> None:
    site = install_distribution(project.parent / "site")
    ran = run_ok(project, "entry", "--store", "teamstore", "--python-path", str(site))
    spec = ran["config"]["store_spec"]
    assert (spec["kind"], spec["target"]) == ("entry-point", "teamstore_pkg:TeamStore")
    assert spec["distribution"] == "teamstore-pkg 1.2"
    assert spec["source"] == str(site / "teamstore_pkg.py")
    run_ok(project, "builtin", "--store", "snapshot")
    report, gated = compare_and_gate(project, "builtin", "entry")
    assert "teamstore (entry-point)" in gated.stdout and gated.returncode == 3
    assert "| store kind | built-in, python | entry-point |" in report
    # AND an unknown name lists the built-ins and the entry points the harness can see
    unknown = harness(project, "run", "--store", "team", "--python-path", str(site),
                      *RUN_ARGS, "--run-dir", "none")
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert "teamstore" in unknown.stderr and "snapshot" in unknown.stderr
    assert not (project / "none").exists()


@NEEDS_NODE
def test_node_modules(project: Path) -> None:
    before = run_ok(project, "before", "--store", "./store.mjs")
    run_ok(project, "after", "--store", "./leaky.mjs")
    spec = before["config"]["store_spec"]
    assert (spec["kind"], spec["runtime"], spec["target"]) == (
        "node-module", "node", str(project / "store.mjs"))
    assert before["repeats"][0]["worker"]["runtime"].startswith("node v")
    report, gated = compare_and_gate(project, "before", "after")
    assert "| store kind | node-module | node-module |" in report
    assert gated.returncode == 3, gated.stderr
    assert "[gate] candidate: ./leaky.mjs (node-module)" in gated.stdout


def test_worker_command_programs(project: Path) -> None:
    # GIVEN a protocol speaker in plain Python, run as the user's own program
    before = run_ok(project, "before", "--worker-cmd", "python3 speaker.py")
    run_ok(project, "after", "--worker-cmd", "python3 speaker.py", "--store", "other")
    spec = before["config"]["store_spec"]
    assert spec["kind"] == "worker-command" and spec["command"] == ["python3", "speaker.py"]
    assert spec["source"] == str(project / "speaker.py")
    assert before["repeats"][0]["worker"]["runtime"].startswith("speaker ")
    report, gated = compare_and_gate(project, "before", "after")
    assert "worker-command `python3 speaker.py`" in report
    assert gated.returncode == 3, gated.stderr
    assert "[gate] candidate: worker command `python3 speaker.py` --store other" in gated.stdout


@NEEDS_NODE
def test_a_worker_command_beside_the_harness_worker_is_a_setup_difference(
        project: Path) -> None:
    # GIVEN the harness's own Node worker run as a user's program, and as the harness's
    run_ok(project, "own", "--runtime", "node", "--store", "snapshot")
    run_ok(project, "cmd", "--worker-cmd", f"node --expose-gc {NODE_WORKER}",
           "--store", "snapshot")
    # THEN compare says the workers differ, and the gate refuses unless told it is intended
    report, gated = compare_and_gate(project, "own", "cmd")
    assert "the worker (the harness's or a --worker-cmd program) differs" in report
    assert gated.returncode == 2 and "--allow-different worker" in gated.stderr
    allowed = harness(project, "gate", "cmd", "--baseline", "own", "--max-regression", "50%",
                      "--allow-different", "worker")
    assert allowed.returncode == 3, allowed.stderr
