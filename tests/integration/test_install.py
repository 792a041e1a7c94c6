"""The installed package lives beside anyone's code: its own import root, never shadowed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import session_store_harness

HARNESS = Path(sys.executable).parent / "harness"
BROKEN = "raise ImportError('the user project package was imported')\n"


def a_users_project(root: Path) -> Path:
    """A project with its own `harness`, `stores` and `session_store_harness` packages."""
    for name in ("harness", "stores", "session_store_harness"):
        (root / name).mkdir(parents=True)
        (root / name / "__init__.py").write_text(BROKEN)
    return root


def test_run_from_a_project_with_its_own_stores_and_harness_packages(tmp_path: Path) -> None:
    # GIVEN the user's folder and PYTHONPATH both hold packages with clashing names
    project = a_users_project(tmp_path / "project")
    on_path = tmp_path / "on-path"
    for name in ("harness", "stores"):
        (on_path / name).mkdir(parents=True)
        (on_path / name / "__init__.py").write_text(BROKEN)
    env = {**os.environ, "PYTHONPATH": str(on_path)}
    # WHEN a run starts there
    result = subprocess.run(
        [str(HARNESS), "run", "--store", "snapshot", "--profile", "pr", "--target-kb", "50",
         "--cycles", "3", "--repeat", "1", "--run-dir", str(project / "out")],
        cwd=project, env=env, capture_output=True, text=True, timeout=120)
    # THEN the worker ran our stores, not theirs
    assert result.returncode == 0, result.stderr
    meta = json.loads((project / "out" / "meta.json").read_text())
    assert meta["status"] == "complete"


def test_no_top_level_harness_or_stores_module_is_installed() -> None:
    code = "import importlib.util as u; print(u.find_spec('stores'), u.find_spec('harness'))"
    found = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True,
                           cwd="/", check=True, env={k: v for k, v in os.environ.items()
                                                     if k != "PYTHONPATH"}).stdout
    assert found.split() == ["None", "None"]
    assert Path(session_store_harness.__file__).parent.name == "harness"


def test_version_is_the_packages() -> None:
    result = subprocess.run([str(HARNESS), "--version"], capture_output=True, text=True)
    assert result.returncode == 0
    assert session_store_harness.__version__ in result.stdout
