"""The worker's store loader, run as the workers run it: `python -P` without PYTHONPATH, the
user's folders appended after the harness's own, so they are found but never shadow it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from session_store_harness.errors import WORKER_STORE_ERROR
from session_store_harness.measuring.processes import child_env, python_module
from session_store_harness.measuring.runner import run_worker
from session_store_harness.model.config import RunConfig
from session_store_harness.model.store_spec import parse_store_spec

STORE_CODE = '''
import json, os
from pathlib import Path


class MyStore:
    def __init__(self, path, env=None):
        self.path = Path(path)

    def load(self):
        return json.loads(self.path.read_text())

    def update(self, mutator, base_store=None):
        store = json.loads(self.path.read_text())
        mutator(store)
        self.save(store)
        return RETURNED

    def save(self, store):
        self.path.write_text(json.dumps(store, indent=2))


class NoUpdate:
    def __init__(self, path, env=None): ...
    def load(self): return {}


not_a_class = 3
'''


def user_store(folder: Path, returned: str = "None", name: str = "my_store.py") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(STORE_CODE.replace("RETURNED", returned))
    return path


def load(target: str, *python_path: Path, cwd: Path | None = None
         ) -> subprocess.CompletedProcess[str]:
    folders = [arg for p in python_path for arg in ("--python-path", str(p))]
    return subprocess.run(python_module("session_store_harness.worker.store_loader", "--store",
                                        target, *folders),
                          capture_output=True, text=True, env=child_env(), cwd=cwd,
                          timeout=60)


def test_a_class_from_a_file_or_a_module_loads_and_names_its_source(tmp_path: Path) -> None:
    path = user_store(tmp_path / "pkg")
    (tmp_path / "pkg" / "__init__.py").write_text("")
    by_file = load(f"{path}:MyStore")
    by_module = load("pkg.my_store:MyStore", tmp_path)
    assert by_file.returncode == by_module.returncode == 0, by_file.stderr + by_module.stderr
    assert by_file.stdout.strip() == by_module.stdout.strip() == str(path)


@pytest.mark.parametrize(("target", "fragment"), [
    ("{file}:Missing", "has no class 'Missing'"),
    ("{file}:not_a_class", "'not_a_class' is a int, not a class"),
    ("{file}:NoUpdate", "class NoUpdate lacks update, save (the store interface needs load, "
                        "update, save"),
    ("{folder}/absent.py:MyStore", "absent.py: store file does not exist"),
    ("absent_module:MyStore", "cannot import 'absent_module': no module named 'absent_module'"),
    ("nothing", "unknown store 'nothing'; built-in:"),
])
def test_what_is_wrong_is_said_in_one_line(tmp_path: Path, target: str, fragment: str) -> None:
    path = user_store(tmp_path)
    result = load(target.format(file=path, folder=tmp_path), tmp_path)
    assert result.returncode == WORKER_STORE_ERROR
    assert fragment in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_the_users_folders_never_shadow_the_harness_or_the_standard_library(
        tmp_path: Path) -> None:
    # GIVEN a user's folder with its own json module and session_store_harness package
    user_store(tmp_path, name="my_store.py")
    (tmp_path / "json.py").write_text("raise ImportError('the user json was imported')\n")
    (tmp_path / "session_store_harness").mkdir()
    (tmp_path / "session_store_harness" / "__init__.py").write_text(
        "raise ImportError('the user package was imported')\n")
    # WHEN a module of theirs is loaded with their folder on the path, from their folder
    result = load("my_store:MyStore", tmp_path, cwd=tmp_path)
    # THEN theirs was found, and everything else was ours
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("returned", "wrote", "reused"), [
    ("None", True, False),
    ("{'wrote': False}", False, False),
    ("{'wrote': True, 'reused_base': True}", True, True),
    ("type('Outcome', (), {'wrote': False, 'reused_base': True})()", False, True),
])
def test_a_users_update_may_return_a_looser_outcome(tmp_path: Path, small_store: Path,
                                                   returned: str, wrote: bool,
                                                   reused: bool) -> None:
    path = user_store(tmp_path / "code", returned)
    spec = parse_store_spec(f"{path}:MyStore", cwd=tmp_path)
    config = RunConfig(store=spec.written, runtime="python", store_spec=spec, cycles=2,
                       sample_every=1, store_file=small_store)
    repeat = run_worker(config, small_store, tmp_path)
    assert repeat.status == "complete", repeat.error
    assert {(c.wrote, c.reused_base) for c in repeat.cycles} == {(wrote, reused)}


def test_a_users_store_raising_its_own_error_fails_the_run_in_one_line(
        tmp_path: Path, small_store: Path) -> None:
    path = user_store(tmp_path / "code", "1 / 0")
    spec = parse_store_spec(f"{path}:MyStore", cwd=tmp_path)
    config = RunConfig(store=spec.written, runtime="python", store_spec=spec, cycles=2,
                       sample_every=1, store_file=small_store)
    repeat = run_worker(config, small_store, tmp_path)
    assert repeat.status == "failed" and repeat.worker.exit_code == WORKER_STORE_ERROR
    assert repeat.error == ("the store raised ZeroDivisionError: division by zero "
                            "(traceback in the worker's stderr)")
    assert "Traceback" in repeat.worker.stderr_tail  # kept for the user, not in the line


@pytest.mark.parametrize("runtime", ["python", "node"])
def test_touch_fields_are_the_fields_each_cycle_sets(tmp_path: Path, small_store: Path,
                                                     runtime: str) -> None:
    if runtime == "node" and shutil.which("node") is None:
        pytest.skip("Node.js is not installed")
    before = json.loads(small_store.read_text())
    config = RunConfig(store="snapshot", runtime=runtime, cycles=3, sample_every=3,
                       touch_keys=2, touch_fields=("status", "updatedAt"),
                       store_file=small_store)
    repeat = run_worker(config, small_store, tmp_path)
    assert repeat.status == "complete", repeat.error
    after = json.loads(small_store.read_text())
    first, second = list(before)[:2]
    # cycle 3 touched the first key again, cycle 2 the second; label and lastTo untouched
    assert after[first]["status"] == "harness:3" and after[second]["status"] == "harness:2"
    assert after[first].get("label") == before[first].get("label")
    assert isinstance(after[first]["updatedAt"], int)
