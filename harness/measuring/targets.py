"""The store under test as the processes that run its code need it, and their command lines.

A `StoreTarget` is what a stress writer or a conformance driver is told to load: a spec its
runtime resolves (a built-in name, `package.module:Class`, `/abs/file.py:Class`, or a Node
module exporting `createStore`), the runtime, and how to start that runtime. The store's code
only ever runs in those child processes, never in the harness itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from session_store_harness import stores
from session_store_harness.errors import HarnessError
from session_store_harness.measuring.processes import node_binary, python_module
from session_store_harness.model.config import RUNTIME_STORES
from session_store_harness.model.store_spec import WORKER_COMMAND, StoreSpec

NODE_FOLDER = Path(stores.__file__).resolve().parent / "node"


@dataclass(frozen=True)
class StoreTarget:
    """Which store the child processes load, in which runtime, started how."""

    spec: str
    runtime: str = "python"
    node_args: tuple[str, ...] = ()  # before the script: `--import=tsx`, `--expose-gc`, ...
    python_path: tuple[str, ...] = ()  # appended to the child's sys.path (it runs with -P)

    def __post_init__(self) -> None:
        if self.runtime not in RUNTIME_STORES:
            raise HarnessError(f"--runtime must be one of {', '.join(RUNTIME_STORES)}")
        if not self.spec.strip():
            raise HarnessError("--store must not be empty")

    @property
    def builtin(self) -> bool:
        """One of this repository's own stores (held to their exact file format)."""
        if self.runtime == "python":
            return self.spec in stores.STORES
        return self.spec in RUNTIME_STORES[self.runtime]

    def command(self, module: str, node_script: str, *args: str) -> list[str]:
        """The command line of `module` (Python) or `stores/node/<node_script>` (Node) with
        `--store SPEC` and the runtime's own settings before `args`."""
        if self.runtime == "node":
            return [node_binary(), *self.node_args, str(NODE_FOLDER / node_script),
                    "--store", self.spec, *args]
        paths = [f"--python-path={folder}" for folder in self.python_path]
        return python_module(module, "--store", self.spec, *paths, *args)


def target_of(spec: StoreSpec) -> StoreTarget:
    """What the child processes of a parsed store spec (`model/store_spec.py`) load: its
    target, made independent of their working folder when it was parsed."""
    if spec.kind == WORKER_COMMAND:
        raise HarnessError("a --worker-cmd program speaks the measuring protocol only; stress "
                           "and conform start their own writers, which load a built-in, a "
                           "Python class or a Node module")
    return StoreTarget(spec.target, spec.runtime, spec.node_args, spec.python_path)
