"""Before anything is measured: can the worker load the store at all?

A user's class that is misspelt, a module that fails to import, or a Node module without
`createStore` would otherwise fail the first repeat and leave a failed result folder behind.
The preflight loads the store the way the worker will, in a short-lived process of the same
runtime (`worker/store_loader.py`, `stores/node/worker.mjs --preflight`), and turns a refusal
into one line and exit 2 before any folder holds anything. The user's module is imported twice,
then: once here, once in each measured worker.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping

from session_store_harness.errors import WORKER_STORE_ERROR, HarnessError
from session_store_harness.measuring.processes import child_env, node_binary, python_module
from session_store_harness.measuring.runner import NODE_WORKER
from session_store_harness.model.store_spec import BUILTIN, StoreSpec

# Built-ins that need something of the runtime (node:sqlite, Node >= 22.5): loaded to check.
NEEDS_THE_RUNTIME = {("node", "sqlite")}
PREFLIGHT_TIMEOUT_S = 120.0  # a TypeScript loader compiles the module first
# Node prints an uncaught error as a stack trace: its message is the line naming the error.
_ERROR_LINE = re.compile(r"^(node: |\w*Error\b|\w+ \[ERR_)")


def check_loadable(spec: StoreSpec, env: Mapping[str, str] = ()) -> None:
    """Refuse, in one line, a store the worker could not load; `env` is the run's --env."""
    if spec.runtime == "node":
        node_binary()  # refuse before any work when Node.js is missing
    if spec.runtime not in ("python", "node") or (
            spec.kind == BUILTIN and (spec.runtime, spec.target) not in NEEDS_THE_RUNTIME):
        return  # a --worker-cmd program was found when parsed; check-worker tests the rest
    result = _run(_command(spec), env, spec)
    if result.returncode != 0:
        raise HarnessError(f"--store {spec.written}: {_reason(result, spec.runtime)} "
                           "(nothing was run)")


def _command(spec: StoreSpec) -> list[str]:
    if spec.runtime == "python":
        folders = [arg for folder in spec.python_path for arg in ("--python-path", folder)]
        return python_module("session_store_harness.worker.store_loader", "--store",
                             spec.target, *folders)
    return [node_binary(), *spec.node_args, str(NODE_WORKER), "--preflight", "--store",
            spec.target]


def _run(command: list[str], env: Mapping[str, str], spec: StoreSpec
         ) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(command, capture_output=True, text=True, env=child_env(env),
                              stdin=subprocess.DEVNULL, timeout=PREFLIGHT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise HarnessError(f"--store {spec.written}: loading the store took over "
                           f"{PREFLIGHT_TIMEOUT_S:g} s (nothing was run)") from None


def _reason(result: subprocess.CompletedProcess[str], runtime: str) -> str:
    """The line that says why: the loader's own line (its last), or the error line of node's
    stack trace (a loader that node itself could not import: `--import=tsx` uninstalled)."""
    if runtime == "node" and result.returncode != WORKER_STORE_ERROR:
        return error_line(result.stderr) or f"node exited with code {result.returncode}"
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    return lines[-1] if lines else f"the loader exited with code {result.returncode}"


def error_line(stderr: str) -> str | None:
    """The line of a program's stderr that names its error: node's `Error [ERR_...]: ...` or
    `node: bad option`, a Python `ValueError: ...`; else its last line (None if empty)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    named = [line for line in lines if _ERROR_LINE.match(line)]
    return (named[0] if named else lines[-1]) if lines else None
