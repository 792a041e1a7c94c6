"""What a run's figures depend on besides the code: interpreter, machine, kernel, settings."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil

import session_store_harness

ENV_PREFIXES = ("OPENCLAW_", "HARNESS_")
ENV_NAMES = ("PYTHONMALLOC", "MALLOC_ARENA_MAX", "MALLOC_TRIM_THRESHOLD_", "PYTHONHASHSEED")


def capture(extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    """A snapshot of the environment a worker runs in (with `extra_env` applied)."""
    env = {**os.environ, **(extra_env or {})}
    return {
        "python": {"version": platform.python_version(),
                   "implementation": platform.python_implementation(),
                   "build": list(platform.python_build()), "compiler": platform.python_compiler(),
                   "executable": sys.executable},
        "platform": {"system": platform.system(), "release": platform.release(),
                     "machine": platform.machine(), "description": platform.platform()},
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_total_bytes": psutil.virtual_memory().total,
        "cgroup_memory_limit": _cgroup_memory_limit(),
        "transparent_hugepages": _read_first_line("/sys/kernel/mm/transparent_hugepage/enabled"),
        # the allocator settings are recorded even when unset: null says "default" outright
        "env": {**dict.fromkeys(ENV_NAMES), **{
            name: value for name, value in sorted(env.items())
            if name in ENV_NAMES or name.startswith(ENV_PREFIXES)}},
        "harness_version": session_store_harness.__version__,
        "git_commit": _git_commit(Path(session_store_harness.__file__).resolve().parent.parent),
    }


def _cgroup_memory_limit() -> str | None:
    # cgroup v2 first, then v1; "max" or a huge number means no limit.
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        value = _read_first_line(path)
        if value is not None:
            return value
    return None


def _read_first_line(path: str) -> str | None:
    try:
        return Path(path).read_text().strip().splitlines()[0]
    except (OSError, IndexError):
        return None


def _git_commit(folder: Path) -> str | None:
    """The harness checkout's commit, with `-dirty` when it has uncommitted changes."""
    try:
        commit = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"],
                                capture_output=True, text=True, timeout=10, check=True).stdout
        dirty = subprocess.run(["git", "-C", str(folder), "status", "--porcelain",
                                "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return commit.strip() + ("-dirty" if dirty.strip() else "")
