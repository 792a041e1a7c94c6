"""How the harness starts its own Python children and stops any child's process group.

Children run in isolated-path mode (`-P`, no current folder on `sys.path`) with `PYTHONPATH`
removed, so a user's own `harness/` or `stores/` package (or anything else on their path) can
never shadow the modules the worker runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping

SHADOWING_VARIABLES = ("PYTHONPATH",)


def python_module(module: str, *args: str) -> list[str]:
    """The command line that runs `module` of this package with this interpreter."""
    return [sys.executable, "-P", "-m", module, *args]


def child_env(extra: Mapping[str, str] = ()) -> dict[str, str]:
    """This process's environment without the variables that could shadow our modules."""
    env = {k: v for k, v in os.environ.items() if k not in SHADOWING_VARIABLES}
    env.update(dict(extra))
    return env


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the process group a child leads (`start_new_session=True`), then reap it."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait()
