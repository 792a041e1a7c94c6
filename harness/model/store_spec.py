"""What `--store` names, resolved once in the parent: a frozen `StoreSpec`.

A store is one of five kinds (`KINDS`): a built-in; a name an installed distribution registers
under the entry-point group `session_store_harness.stores`; a Python class (`package.module:Class`
or `path/to/file.py:Class`); a Node module exporting `createStore(path, env)`; or a program in any
language speaking docs/worker-protocol.md (`--worker-cmd`). Parsing reads the file system (does
the file exist, where does the module live) and installed distributions' metadata, but never
imports or runs the user's code: the worker does that, and `measuring/preflight.py` before it.
Entry points are resolved here, so the worker never imports importlib.metadata.
"""

from __future__ import annotations

import inspect
import re
import shlex
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.machinery import PathFinder
from pathlib import Path
from typing import TYPE_CHECKING, Any

from session_store_harness import stores
from session_store_harness.errors import HarnessError
from session_store_harness.stores import STORES

if TYPE_CHECKING:  # importlib.metadata loads email, zipfile, csv...: only when a name is looked up
    from importlib import metadata

BUILTIN = "built-in"
ENTRY_POINT = "entry-point"
PYTHON_CLASS = "python-class"
NODE_MODULE = "node-module"
WORKER_COMMAND = "worker-command"
KINDS = (BUILTIN, ENTRY_POINT, PYTHON_CLASS, NODE_MODULE, WORKER_COMMAND)
RUNTIMES = ("python", "node")  # what --runtime chooses: the harness's own workers
COMMAND = "command"  # the runtime of a --worker-cmd program: whatever it is written in
ENTRY_POINT_GROUP = "session_store_harness.stores"
NODE_EXTENSIONS = (".mjs", ".js", ".cjs", ".ts", ".mts", ".cts")
NODE_BUILTINS = ("wholefile", "snapshot", "snapshot-lean", "latefile", "sqlite")
DEFAULT_COMMAND_STORE = "default"  # --store passed to a worker command given none
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class StoreSpec:
    """A store as the user wrote it and as the worker gets it."""

    written: str  # --store as written ("" for a worker command given no --store)
    kind: str  # one of KINDS
    runtime: str  # python, node, or command
    target: str  # the worker's --store: a name, `module:Class`, `/abs/file.py:Class`, `/abs.mjs`
    source: Path | None = None  # the file holding the code under test (absolute)
    python_path: tuple[str, ...] = ()  # folders the Python worker appends to sys.path
    node_args: tuple[str, ...] = ()  # node options before the worker script (--import=tsx)
    command: tuple[str, ...] = ()  # a worker command's argv, before the protocol's arguments
    distribution: str | None = None  # the entry point's distribution, "name version"

    @property
    def slug(self) -> str:
        """A short name for labels and folder names: letters, digits, `.`, `_` and `-`."""
        if self.kind in (BUILTIN, ENTRY_POINT):
            name = self.written
        elif self.kind == PYTHON_CLASS:
            where, _, cls = self.written.rpartition(":")
            name = f"{Path(where).stem if where.endswith('.py') else where}-{cls}"
        elif self.kind == NODE_MODULE:
            name = Path(self.written).stem
        else:
            name = Path(self.source or self.command[0]).stem + (
                f"-{self.written}" if self.written else "")
        return _SLUG.sub("-", name).strip("-") or "store"

    def describe(self) -> str:
        """The spec in one phrase for reports: what was written and what kind it is."""
        if self.kind == WORKER_COMMAND:
            store = f" --store {self.target}" if self.written else ""
            return f"worker command `{shlex.join(self.command)}`{store}"
        if self.kind == BUILTIN:
            return f"{self.written} (built-in, {self.runtime})"
        return f"{self.written} ({self.kind})"

    def as_dict(self) -> dict[str, Any]:
        return {"written": self.written, "kind": self.kind, "runtime": self.runtime,
                "target": self.target, "source": str(self.source) if self.source else None,
                "python_path": list(self.python_path), "node_args": list(self.node_args),
                "command": list(self.command), "distribution": self.distribution}


def builtin_spec(name: str, runtime: str = "python") -> StoreSpec:
    """A built-in store, without resolving its source (the runner knows where it is)."""
    return StoreSpec(written=name, kind=BUILTIN, runtime=runtime, target=name)


def parse_store_spec(store: str | None, runtime: str | None = None,
                     worker_cmd: str | None = None, node_args: Sequence[str] = (),
                     python_path: Sequence[str | Path] = (), cwd: Path | None = None
                     ) -> StoreSpec:
    """The `StoreSpec` for `--store`, `--runtime`, `--worker-cmd`, `--node-arg` and
    `--python-path`; relative paths are taken from `cwd` (default: the current folder).

    With no `runtime`, a `.mjs`/`.js`/`.cjs`/`.ts`/`.mts`/`.cts` path means Node, anything
    else Python. A `HarnessError` (exit 2) says in one line what was tried.
    """
    cwd = (cwd or Path.cwd()).resolve()
    if worker_cmd is not None:
        if runtime is not None or node_args or python_path:
            raise HarnessError("--worker-cmd runs your own program: it takes no --runtime, "
                               "--node-arg or --python-path (put them in the command)")
        return _worker_command(worker_cmd, store, cwd)
    if not store:
        raise HarnessError("give --store (a built-in, an entry point, module:Class, "
                           "file.py:Class or a Node module) or --worker-cmd")
    runtime = runtime or ("node" if store.endswith(NODE_EXTENSIONS) else "python")
    if runtime not in RUNTIMES:
        raise HarnessError(f"--runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    if runtime == "node":
        if python_path:
            raise HarnessError("--python-path is for Python stores; a Node module finds its "
                               "imports from its own folder (node_modules)")
        return _node_store(store, tuple(node_args), cwd)
    if node_args:
        raise HarnessError("--node-arg is for Node stores (--runtime node)")
    folders = tuple(_folder(Path(p), cwd) for p in python_path)
    return _python_store(store, folders, cwd)


def _folder(path: Path, cwd: Path) -> str:
    folder = (cwd / path).resolve()
    if not folder.is_dir():
        raise HarnessError(f"--python-path {path}: no such folder")
    return str(folder)


def _file(written: str, cwd: Path, what: str) -> Path:
    path = (cwd / written).resolve()
    if not path.is_file():
        raise HarnessError(f"{written}: {what} does not exist or is not a file")
    return path


def builtin_source(name: str, runtime: str) -> Path:
    """The file holding a built-in store's code."""
    if runtime == "node":
        return Path(stores.__file__).resolve().parent / "node" / "sessionStore.mjs"
    return Path(inspect.getfile(stores.store_class(name))).resolve()


def _node_store(store: str, node_args: tuple[str, ...], cwd: Path) -> StoreSpec:
    if store in NODE_BUILTINS:
        return StoreSpec(store, BUILTIN, "node", store, builtin_source(store, "node"),
                         node_args=node_args)
    if not store.endswith(NODE_EXTENSIONS):
        if store in STORES:  # a Python built-in with no Node twin
            raise HarnessError(f"store {store!r} has no node version; it has "
                               f"{', '.join(NODE_BUILTINS)}")
        raise HarnessError(f"unknown store {store!r} for --runtime node: not a built-in "
                           f"({', '.join(NODE_BUILTINS)}) nor a module file "
                           f"({', '.join(NODE_EXTENSIONS)})")
    path = _file(store, cwd, "Node module")
    return StoreSpec(store, NODE_MODULE, "node", str(path), source=path, node_args=node_args)


def _python_store(store: str, folders: tuple[str, ...], cwd: Path) -> StoreSpec:
    if store in STORES:
        return StoreSpec(store, BUILTIN, "python", store, builtin_source(store, "python"))
    user_path = _unique((str(cwd), *folders))  # the current folder first, then --python-path
    if ":" in store:
        return _python_class(store, user_path, cwd)
    found = entry_points(folders)
    if store in found:
        return _entry_point(store, found[store], user_path)
    raise HarnessError(
        f"unknown store {store!r}: tried a built-in ({', '.join(sorted(STORES))}), an entry "
        f"point in {ENTRY_POINT_GROUP} ({', '.join(sorted(found)) or 'none installed'}), "
        "module:Class and path/to/file.py:Class (no ':' given); a Node module needs "
        "--runtime node or a .mjs/.js/.ts path")


def _python_class(store: str, user_path: tuple[str, ...], cwd: Path) -> StoreSpec:
    where, _, name = store.rpartition(":")
    if not name.isidentifier():
        raise HarnessError(f"--store {store}: {name!r} after the ':' is not a class name")
    if where.endswith(".py") or "/" in where:
        path = _file(where, cwd, "Python store file")
        return StoreSpec(store, PYTHON_CLASS, "python", f"{path}:{name}", source=path,
                         python_path=user_path)
    if not all(part.isidentifier() for part in where.split(".")):
        raise HarnessError(f"--store {store}: {where!r} is neither a module name nor a .py file")
    source = module_source(where, user_path)
    if source is None:
        raise HarnessError(f"--store {store}: no module {where!r} in the installed packages, "
                           f"the current folder or --python-path ({', '.join(user_path)})")
    return StoreSpec(store, PYTHON_CLASS, "python", f"{where}:{name}", source=source,
                     python_path=user_path)


def _entry_point(name: str, found: tuple[metadata.EntryPoint, Path],
                 user_path: tuple[str, ...]) -> StoreSpec:
    entry, base = found
    module, _, attr = entry.value.partition(":")
    if not attr or not attr.isidentifier():
        raise HarnessError(f"entry point {name!r} ({entry.value}) is not module:Class")
    python_path = _unique((str(base), *user_path))  # its distribution's folder: found as here
    dist = entry.dist
    return StoreSpec(name, ENTRY_POINT, "python", f"{module.strip()}:{attr}",
                     source=module_source(module.strip(), python_path), python_path=python_path,
                     distribution=f"{dist.name} {dist.version}" if dist else None)


def entry_points(folders: Sequence[str] = ()) -> dict[str, tuple[metadata.EntryPoint, Path]]:
    """Stores registered under `ENTRY_POINT_GROUP` by the distributions on sys.path and in
    `folders`, each with the folder its distribution is installed in; the first of a name wins,
    in path order, as an import would."""
    from importlib import metadata

    found: dict[str, tuple[metadata.EntryPoint, Path]] = {}
    for dist in metadata.distributions(path=[*sys.path, *folders]):
        for entry in dist.entry_points.select(group=ENTRY_POINT_GROUP):
            found.setdefault(entry.name, (entry, Path(str(dist.locate_file(""))).resolve()))
    return found


def module_source(module: str, user_path: Sequence[str]) -> Path | None:
    """The file a worker would import `module` from, found without importing anything: the
    harness's path first (as the worker searches), then the user's folders appended."""
    search: list[str] | None = [p for p in sys.path if p] + [p for p in user_path
                                                             if p not in sys.path]
    spec = None
    parts = module.split(".")
    for index in range(len(parts)):
        if search is None:  # a module, not a package, has no submodules
            return None
        spec = PathFinder.find_spec(".".join(parts[:index + 1]), search)
        if spec is None:
            return None
        search = list(spec.submodule_search_locations or []) or None
    origin = spec.origin if spec else None
    return Path(origin).resolve() if origin and Path(origin).is_file() else None


def _worker_command(text: str, store: str | None, cwd: Path) -> StoreSpec:
    try:
        argv = tuple(shlex.split(text))
    except ValueError as exc:
        raise HarnessError(f"--worker-cmd {text!r}: {exc}") from None
    if not argv:
        raise HarnessError("--worker-cmd is empty: give the program and its arguments")
    program = argv[0]
    found = shutil.which(str(cwd / program)) if "/" in program else shutil.which(program)
    if found is None:
        raise HarnessError(f"--worker-cmd: program {program!r} not found "
                           f"({'no such executable' if '/' in program else 'not on the PATH'})")
    return StoreSpec(store or "", WORKER_COMMAND, COMMAND, store or DEFAULT_COMMAND_STORE,
                     source=_program_source(argv, Path(found), cwd), command=argv)


def _program_source(argv: tuple[str, ...], program: Path, cwd: Path) -> Path:
    """The code a worker command runs: the first argument naming an existing file (the
    script of `node worker.mjs` or `python speaker.py`), else the program itself."""
    for arg in argv[1:]:
        if not arg.startswith("-") and (cwd / arg).is_file():
            return (cwd / arg).resolve()
    return program.resolve()


def _unique(items: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
