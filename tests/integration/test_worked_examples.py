"""The worked examples under examples/, copied outside this repository and used as a user
would: the Python package installed and found by its entry point, the Node module and its
TypeScript twin, each through the configuration file's named stores."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.user_project import REPO, harness, meta

EXAMPLES = REPO / "examples"
QUICK = ("--cycles", "3", "--sample-every", "1")
NEEDS_NODE = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")


def copy_example(name: str, tmp_path: Path) -> Path:
    """The example as a user's repository: its own folder, a git repository (the harness looks
    for its configuration up to the repository's root, and outside one in the folder only)."""
    target = tmp_path / name
    shutil.copytree(EXAMPLES / name, target)
    subprocess.run(["git", "init", "-q", str(target)], check=True)
    return target


def install_for_python_path(example: Path, site: Path) -> None:
    """The package installed into `site` (found with --python-path): a pip install into a
    folder takes seconds, where a venv with the harness and its dependencies takes minutes."""
    try:
        installed = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--no-deps", "--target", str(site), str(example)],
            capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.skip("pip install of the example took over 120 s")
    if installed.returncode != 0:  # pip needs setuptools for the build, from the index
        pytest.skip(f"pip could not install the example: {installed.stderr.strip()[-300:]}")


def test_the_python_entry_point_example(tmp_path: Path) -> None:
    # GIVEN the example package installed from a folder outside the repository
    example = copy_example("python-entry-point", tmp_path)
    site = tmp_path / "site"
    install_for_python_path(example, site)
    # WHEN it runs by its entry-point name, with the example's workload from its pyproject
    ran = harness(example, "run", "wholefile-json", "--python-path", str(site), *QUICK,
                  "--repeat", "1", "--no-progress", "--run-dir", "one")
    assert ran.returncode == 0, ran.stderr
    spec = meta(example / "one")["config"]["store_spec"]
    assert spec["kind"] == "entry-point" and spec["distribution"] == "wholefile-json-store 0.1.0"
    assert meta(example / "one")["config"]["generate"]["target_kb"] == 100
    # AND before/after come from the configuration's named stores
    compared = harness(example, "ab", "before", "after", "--python-path", str(site), *QUICK,
                       "--repeat", "2", "-o", "ab")
    assert compared.returncode == 0, compared.stderr
    assert "interleaved wholefile (A) and wholefile-json (B)" in compared.stdout
    # THEN the gate uses [tool.harness.gate]: 2 repeats a side cannot call a change (exit 3)
    gated = harness(example, "gate", "ab/after", "--baseline", "ab/before")
    assert gated.returncode == 3, gated.stdout + gated.stderr
    assert "(limit 500.0 MB) pass" in gated.stdout and "limit +20.0%" in gated.stdout


def test_a_config_error_names_the_file_and_key(tmp_path: Path) -> None:
    example = copy_example("python-entry-point", tmp_path)
    pyproject = example / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(
        'store = "wholefile-json"', 'store = "wholefile-json"\nruntime = "ruby"'))
    refused = harness(example / "src", "run", "after", *QUICK)
    assert refused.returncode == 2
    assert refused.stderr.strip().endswith(
        "pyproject.toml: tool.harness.stores.after.runtime: must be 'python' or 'node'")
    assert len(refused.stderr.strip().splitlines()) == 1


@NEEDS_NODE
def test_the_node_example_by_spec_and_by_name(tmp_path: Path) -> None:
    example = copy_example("node-store", tmp_path)
    ran = harness(example, "run", "--runtime", "node", "--store", "./store.mjs", *QUICK,
                  "--repeat", "1", "--no-progress", "--run-dir", "one")
    assert ran.returncode == 0, ran.stderr
    assert meta(example / "one")["config"]["store_spec"]["kind"] == "node-module"
    # a named store's relative path is the config file's, from any subfolder
    (example / "sub").mkdir()
    compared = harness(example / "sub", "ab", "before", "after", *QUICK, "--repeat", "1",
                       "-o", "ab")
    assert compared.returncode == 0, compared.stderr
    after = meta(example / "sub" / "ab" / "after")["config"]["store_spec"]
    assert after["source"] == str((example / "store.mjs").resolve())


@NEEDS_NODE
def test_the_typescript_twin_with_tsx(tmp_path: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: the TypeScript loader cannot be installed")
    example = copy_example("node-store", tmp_path)
    try:
        installed = subprocess.run([npm, "install", "--no-audit", "--no-fund"], cwd=example,
                                   capture_output=True, text=True, timeout=240)
    except subprocess.TimeoutExpired:
        pytest.skip("npm install tsx took over 240 s")
    if installed.returncode != 0:
        pytest.skip(f"npm install tsx failed: {installed.stderr.strip()[-300:]}")
    ran = harness(example, "run", "--store", "./store.ts", "--node-arg=--import=tsx", *QUICK,
                  "--repeat", "1", "--no-progress", "--run-dir", "ts")
    assert ran.returncode == 0, ran.stderr
    named = harness(example, "run", "after-ts", *QUICK, "--repeat", "1", "--no-progress",
                    "--run-dir", "named")
    assert named.returncode == 0, named.stderr
    assert meta(example / "named")["config"]["store_spec"]["node_args"] == ["--import=tsx"]
    # AND without the loader, a Node that cannot strip types (before 22.18) refuses the .ts
    # store in one line, leaving no folder
    version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout
    if tuple(int(part) for part in version.strip().lstrip("v").split(".")[:2]) >= (22, 18):
        return
    refused = harness(example, "run", "--store", "./store.ts", *QUICK, "--repeat", "1",
                      "--no-progress", "--run-dir", "no")
    assert refused.returncode == 2 and "--node-arg=--import=tsx" in refused.stderr
    assert not (example / "no").exists()
