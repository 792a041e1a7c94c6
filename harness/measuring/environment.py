"""What a run's figures depend on besides the code: interpreter, machine, kernel, settings."""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

import session_store_harness
from session_store_harness.model.redaction import redact_env

# The only variables recorded: those the harness, the stores or the allocator read. Anything
# else in the environment (a CI token, a user's credentials) says nothing about the figures.
ENV_PREFIXES = ("OPENCLAW_", "HARNESS_")
ENV_NAMES = ("PYTHONMALLOC", "MALLOC_ARENA_MAX", "MALLOC_TRIM_THRESHOLD_", "PYTHONHASHSEED")
# cgroup v2 first, then v1
CGROUP_MEMORY_LIMIT_FILES = ("/sys/fs/cgroup/memory.max",
                             "/sys/fs/cgroup/memory/memory.limit_in_bytes")
# v1 writes "no limit" as the largest page-aligned counter (9223372036854771712 with 4 KiB
# pages, other values with other page sizes); no real machine has 2**60 bytes (1 EiB)
NO_LIMIT_BYTES = 2**60
HARNESS_ROOT = Path(session_store_harness.__file__).resolve().parent.parent
# Set by git hooks (say, a pre-commit that runs the tests): they would point every `git -C`
# at the hook's repository instead of the one holding the path asked about.
GIT_LOCATION_VARIABLES = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR")
# `git status` may rewrite the index to refresh it; without the lock that takes, a user's own
# git command running at the same moment cannot fail on our account.
GIT_READ_ONLY = {"GIT_OPTIONAL_LOCKS": "0"}


@dataclass(frozen=True)
class CodeVersion:
    """Which code a figure came from: a path, the commit of the repository holding it, and for
    a file its SHA-256 and whether that very file is committed as it is."""

    path: str
    git_commit: str | None  # None outside git; ends in `-dirty` with uncommitted changes
    sha256: str | None = None  # of a file's bytes; None for a folder
    # a file's own state in its repository: committed, modified, untracked or ignored (the
    # commit says nothing of a file never committed); None outside git
    git_file_state: str | None = None


def capture(extra_env: dict[str, str] | None = None,
            code_paths: Mapping[str, Path] | None = None) -> dict[str, Any]:
    """A snapshot of the environment a worker runs in (with `extra_env` applied).

    `code_paths` names the code under test (a store's source, say): each gets its path, the
    commit of the repository holding it (the harness's own commit says nothing about the code
    it measured), and for a file its SHA-256 and its own git state.
    """
    env = {**os.environ, **(extra_env or {})}
    cgroup_display, cgroup_bytes = _cgroup_memory_limit()
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
        "cgroup_memory_limit": cgroup_display,
        "cgroup_memory_limit_bytes": cgroup_bytes,
        "transparent_hugepages": _read_first_line("/sys/kernel/mm/transparent_hugepage/enabled"),
        "env": recorded_env(env),
        "harness_version": session_store_harness.__version__,
        "git_commit": code_commit(HARNESS_ROOT),
        "code_under_test": {name: asdict(code_version(path))
                            for name, path in (code_paths or {}).items()},
        "working_dir": asdict(code_version(Path.cwd())),
    }


def recorded_env(env: Mapping[str, str]) -> dict[str, str | None]:
    """The variables of `env` a result records, secret values already blanked."""
    # the allocator settings are recorded even when unset: null says "default" outright
    return redact_env({**dict.fromkeys(ENV_NAMES), **{
        name: value for name, value in sorted(env.items())
        if name in ENV_NAMES or name.startswith(ENV_PREFIXES)}})


def parse_cgroup_memory_limit(text: str) -> int | None:
    """A cgroup memory limit file's text as bytes: None for `max` (v2) or a v1 huge number."""
    value = text.strip()
    if value == "max":
        return None
    limit = int(value)  # ValueError on anything else: not a limit file we know
    return None if limit >= NO_LIMIT_BYTES else limit


def describe_memory_limit(limit_bytes: int | None) -> str:
    """`none`, or the limit in GiB (MiB under 1 GiB) for the report."""
    if limit_bytes is None:
        return "none"
    if limit_bytes >= 2**30:
        return f"{limit_bytes / 2**30:.1f} GiB"
    return f"{limit_bytes / 2**20:.1f} MiB"


def code_version(path: Path) -> CodeVersion:
    if not path.is_file():
        return CodeVersion(str(path), code_commit(path))
    return CodeVersion(str(path), code_commit(path), _sha256(path), git_file_state(path))


def git_file_state(path: Path) -> str | None:
    """`committed`, `modified`, `untracked` or `ignored`: the file's own git status."""
    try:
        status = _git(path.parent, _git_env(), "status", "--porcelain", "--ignored", "--",
                      path.name)
    except (OSError, subprocess.SubprocessError):
        return None
    code = status[:2]
    return {"": "committed", "??": "untracked", "!!": "ignored"}.get(code, "modified")


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _git_env() -> dict[str, str]:
    return {**{name: value for name, value in os.environ.items()
               if name not in GIT_LOCATION_VARIABLES}, **GIT_READ_ONLY}


def code_commit(path: Path) -> str | None:
    """The commit of the git repository holding `path`, with `-dirty` when a tracked file has
    uncommitted changes; None outside git (or without git, or before the first commit)."""
    folder = path if path.is_dir() else path.parent
    env = _git_env()
    try:
        commit = _git(folder, env, "rev-parse", "HEAD")
        dirty = _git(folder, env, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return commit.strip() + ("-dirty" if dirty.strip() else "")


def _git(folder: Path, env: dict[str, str], *args: str) -> str:
    return subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True,
                          timeout=10, check=True, env=env, stdin=subprocess.DEVNULL).stdout


def _cgroup_memory_limit() -> tuple[str, int | None]:
    """The limit for display and in bytes; "none" is a cgroup without a limit, "unknown" no
    readable cgroup file (not Linux, say), so the two are never confused."""
    text = next(filter(None, map(_read_first_line, CGROUP_MEMORY_LIMIT_FILES)), None)
    try:
        limit = None if text is None else parse_cgroup_memory_limit(text)
    except ValueError:
        text = None
    if text is None:
        return "unknown", None
    return describe_memory_limit(limit), limit


def _read_first_line(path: str) -> str | None:
    try:
        return Path(path).read_text().strip().splitlines()[0]
    except (OSError, IndexError):
        return None


def commit_time(commit: str, folder: Path) -> str | None:
    """When `commit` was committed (ISO 8601, the committer's date), as the git repository
    holding `folder` knows it; None outside git or for a commit it does not have."""
    try:
        text = _git(folder, _git_env(), "show", "-s", "--format=%cI", f"{commit}^{{commit}}",
                    "--")
    except (OSError, subprocess.SubprocessError):
        return None
    return text.strip() or None
