"""What --store says becomes one StoreSpec: each kind resolved, each refusal one line."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from session_store_harness.errors import HarnessError
from session_store_harness.model.store_spec import (
    BUILTIN,
    ENTRY_POINT,
    NODE_MODULE,
    PYTHON_CLASS,
    WORKER_COMMAND,
    entry_points,
    parse_store_spec,
)
from session_store_harness.stores import STORES

STORE_CODE = "class MyStore:\n    def load(self): ...\n    def update(self, m, b=None): ...\n" \
             "    def save(self, s): ...\n"


def installed(site: Path, name: str = "mystores", dist: str = "mystores_pkg") -> Path:
    """A distribution installed into `site` as pip leaves one: its package and a .dist-info
    with METADATA and an entry point in the harness's group."""
    package = site / dist
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(STORE_CODE)
    info = site / f"{dist}-0.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.3\n")
    (info / "entry_points.txt").write_text(
        f"[session_store_harness.stores]\n{name} = {dist}:MyStore\n")
    return site


@pytest.mark.parametrize("name", sorted(STORES))
def test_a_builtin_is_resolved_with_its_source(tmp_path: Path, name: str) -> None:
    spec = parse_store_spec(name, cwd=tmp_path)
    assert (spec.kind, spec.runtime, spec.target, spec.slug) == (BUILTIN, "python", name, name)
    # a module's name cannot hold a hyphen: `snapshot-lean` lives in snapshot_lean.py
    assert spec.source is not None and spec.source.name == f"{name.replace('-', '_')}.py"


def test_a_file_class_is_made_absolute_against_the_users_folder(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "my_store.py").write_text(STORE_CODE)
    spec = parse_store_spec("src/my_store.py:MyStore", cwd=tmp_path)
    assert spec.kind == PYTHON_CLASS and spec.runtime == "python"
    assert spec.target == f"{tmp_path / 'src' / 'my_store.py'}:MyStore"
    assert spec.source == tmp_path / "src" / "my_store.py"
    assert spec.python_path == (str(tmp_path),) and spec.slug == "my_store-MyStore"


def test_a_module_class_is_found_without_importing_it(tmp_path: Path) -> None:
    # GIVEN a package whose import would fail loudly, and an extra folder
    (tmp_path / "myapp").mkdir()
    (tmp_path / "myapp" / "__init__.py").write_text("raise SystemExit('imported!')\n")
    (tmp_path / "myapp" / "store.py").write_text(STORE_CODE)
    extra = tmp_path / "extra"
    extra.mkdir()
    # WHEN it is resolved
    spec = parse_store_spec("myapp.store:MyStore", python_path=["extra"], cwd=tmp_path)
    # THEN its file is known, nothing ran, and the worker gets the user's folders after its own
    assert spec.target == "myapp.store:MyStore"
    assert spec.source == tmp_path / "myapp" / "store.py"
    assert spec.python_path == (str(tmp_path), str(extra))
    assert "myapp" not in sys.modules


def test_an_entry_point_resolves_to_module_and_class_in_the_parent(tmp_path: Path) -> None:
    site = installed(tmp_path / "site")
    spec = parse_store_spec("mystores", python_path=[str(site)], cwd=tmp_path)
    assert spec.kind == ENTRY_POINT and spec.target == "mystores_pkg:MyStore"
    assert spec.distribution == "mystores_pkg 0.3"
    assert spec.source == site / "mystores_pkg" / "__init__.py"
    assert spec.python_path[0] == str(site)  # where the worker will find the module
    assert "mystores" in entry_points([str(site)])


def test_an_unknown_name_lists_the_builtins_and_the_entry_points_found(tmp_path: Path) -> None:
    site = installed(tmp_path / "site", name="teamstore")
    with pytest.raises(HarnessError) as error:
        parse_store_spec("mine", python_path=[str(site)], cwd=tmp_path)
    text = str(error.value)
    assert "unknown store 'mine'" in text and "\n" not in text
    assert all(name in text for name in STORES) and "teamstore" in text
    assert error.value.exit_code == 2


@pytest.mark.parametrize("extension", [".mjs", ".js", ".cjs", ".ts", ".mts"])
def test_a_javascript_or_typescript_path_means_node(tmp_path: Path, extension: str) -> None:
    (tmp_path / f"store{extension}").write_text("export function createStore() {}\n")
    spec = parse_store_spec(f"./store{extension}", node_args=["--import=tsx"], cwd=tmp_path)
    assert (spec.kind, spec.runtime) == (NODE_MODULE, "node")
    assert spec.target == str(tmp_path / f"store{extension}") and spec.slug == "store"
    assert spec.node_args == ("--import=tsx",)


def test_node_builtins_and_their_source(tmp_path: Path) -> None:
    spec = parse_store_spec("snapshot", runtime="node", cwd=tmp_path)
    assert (spec.kind, spec.target) == (BUILTIN, "snapshot")
    assert spec.source is not None and spec.source.name == "sessionStore.mjs"


def test_a_worker_command_is_split_and_its_script_is_the_source(tmp_path: Path) -> None:
    (tmp_path / "speaker.py").write_text("")
    spec = parse_store_spec(None, worker_cmd="python3 -u 'speaker.py' --fast", cwd=tmp_path)
    assert spec.kind == WORKER_COMMAND and spec.runtime == "command"
    assert spec.command == ("python3", "-u", "speaker.py", "--fast")
    assert spec.source == tmp_path / "speaker.py"
    assert spec.target == "default" and spec.slug == "speaker"
    named = parse_store_spec("fast", worker_cmd="python3 speaker.py", cwd=tmp_path)
    assert named.target == "fast" and named.slug == "speaker-fast"


def test_a_worker_command_without_a_script_is_its_program(tmp_path: Path) -> None:
    spec = parse_store_spec(None, worker_cmd="python3 -c pass", cwd=tmp_path)
    assert spec.source == Path(shutil.which("python3") or "").resolve()


@pytest.mark.parametrize(("args", "fragment"), [
    ({"store": None}, "give --store"),
    ({"store": "missing.py:MyStore"}, "missing.py: Python store file does not exist"),
    ({"store": "store.py:not-a-class"}, "is not a class name"),
    ({"store": "no_such_module:MyStore"}, "no module 'no_such_module'"),
    ({"store": "ballast", "runtime": "node"}, "has no node version"),
    ({"store": "nope", "runtime": "node"}, "unknown store 'nope' for --runtime node"),
    ({"store": "./gone.mjs"}, "gone.mjs: Node module does not exist"),
    ({"store": "snapshot", "node_args": ["--import=tsx"]}, "--node-arg is for Node stores"),
    ({"store": "snapshot", "python_path": ["nowhere"]}, "--python-path nowhere: no such"),
    ({"store": "x", "worker_cmd": "python3 w.py", "runtime": "python"}, "takes no --runtime"),
    ({"store": None, "worker_cmd": "python3 'w.py"}, "No closing quotation"),
    ({"store": None, "worker_cmd": "  "}, "--worker-cmd is empty"),
    ({"store": None, "worker_cmd": "no-such-program-xyz"}, "not on the PATH"),
    ({"store": None, "worker_cmd": "./nothing-here"}, "no such executable"),
])
def test_bad_specs_are_one_line_usage_errors(tmp_path: Path, args: dict, fragment: str) -> None:
    with pytest.raises(HarnessError) as error:
        parse_store_spec(cwd=tmp_path, **args)
    assert fragment in str(error.value) and "\n" not in str(error.value)
    assert error.value.exit_code == 2
