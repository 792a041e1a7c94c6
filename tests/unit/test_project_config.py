"""The project configuration: found up to the repository's root, validated whole, merged under
the command line's options."""

from __future__ import annotations

from pathlib import Path

import pytest

from session_store_harness.errors import HarnessError
from session_store_harness.model.config import run_config
from session_store_harness.settings.project_config import find_config, load_project
from session_store_harness.settings.run_values import named_or_spec, run_values

PYPROJECT = '''[project]
name = "user"

[tool.harness]
profile = "pr"
target_kb = 30
cycles = 3
touch_fields = ["updatedAt", "status"]
env = {LEVEL = "file"}

[tool.harness.stores.after]
store = "snapshot"
reuse_loaded_store = true
env = {LEVEL = "store"}

[tool.harness.stores.mine]
store = "./store.mjs"
node_args = ["--import=tsx"]

[tool.harness.gate]
max_regression = "5%"
'''
# click's defaults, as `harness run` passes them when the user gives nothing
DEFAULTS = {"store": None, "store_file": None, "profile": "realistic", "target_kb": None,
            "entries": None, "seed": 1, "cycles": 50, "sample_every": 10, "repeat": 5,
            "env": (), "runtime": None, "worker_cmd": None, "node_args": (),
            "python_path": ()}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "store.mjs").write_text("export function createStore() {}\n")
    (tmp_path / "src" / "deep").mkdir(parents=True)
    return tmp_path


def test_found_from_a_subfolder_and_not_past_the_repository_root(repo: Path) -> None:
    assert find_config(repo / "src" / "deep") == repo / "pyproject.toml"
    inner = repo / "inner"
    (inner / ".git").mkdir(parents=True)
    assert find_config(inner) is None
    (inner / "harness.toml").write_text("cycles = 2\n")
    assert load_project(cwd=inner).table.cycles == 2


def test_outside_a_repository_only_the_folder_itself_is_looked_in(tmp_path: Path) -> None:
    # a stray harness.toml above (in /tmp, say) configures nothing below it
    (tmp_path / "harness.toml").write_text("cycles = 2\n")
    (tmp_path / "work" / "sub").mkdir(parents=True)
    assert find_config(tmp_path / "work" / "sub") is None
    assert find_config(tmp_path) == tmp_path / "harness.toml"


def test_file_values_under_the_command_lines(repo: Path) -> None:
    # GIVEN the file's workload and store, and the user giving only --cycles 7
    project = load_project(cwd=repo / "src")
    values = {**DEFAULTS, "cycles": 7, "env": ("LEVEL=cli",)}
    merged = run_values(project, values, {"cycles", "env"}, "after")
    config = run_config(**merged)
    # THEN the file fills what the user did not give, and the command line wins the rest
    assert (config.cycles, config.repeat, config.generate.target_kb) == (7, 5, 30)
    assert config.store == "snapshot" and config.reuse_loaded_store
    assert config.touch_fields == ("updatedAt", "status")
    assert dict(config.env)["LEVEL"] == "cli"
    assert dict(run_config(**run_values(project, DEFAULTS, set(), "after")).env) == {
        "LEVEL": "store"}


def test_a_named_stores_paths_start_at_the_files_folder(repo: Path) -> None:
    project = load_project(cwd=repo / "src" / "deep")
    config = run_config(**named_or_spec(project, DEFAULTS, set(), "mine"))
    assert config.spec.source == (repo / "store.mjs").resolve()
    assert config.spec.node_args == ("--import=tsx",)
    # a name not in the file is a store spec, as --store takes
    assert run_config(**named_or_spec(project, DEFAULTS, set(), "wholefile")).store == "wholefile"


@pytest.mark.parametrize(("text", "error"), [
    ('[tool.harness.stores.after]\nstore = "x"\nruntime = "ruby"\n',
     "pyproject.toml: tool.harness.stores.after.runtime: must be 'python' or 'node'"),
    ('[tool.harness]\ncycle = 3\n', "pyproject.toml: tool.harness.cycle: unknown key"),
    ('[tool.harness]\ncycles = "3"\n', "pyproject.toml: tool.harness.cycles: must be a valid"),
    ('[tool.harness.gate]\nmax_peak = 3\n', "tool.harness.gate.max_peak: unknown key"),
    ('[tool.harness.stores.b]\nenv = {A = "1"}\n', "tool.harness.stores.b: give store"),
])
def test_one_line_naming_the_file_and_key(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(text)
    with pytest.raises(HarnessError) as raised:
        load_project(path)
    assert error in str(raised.value) and "\n" not in str(raised.value)
    assert raised.value.exit_code == 2
