"""Shared helpers: a small generated store, and the CLI run as a real subprocess."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from session_store_harness.generating.generator import GenerateSpec, generate

REPO = Path(__file__).resolve().parent.parent

# A suite started in the background or under nohup inherits SIGINT or SIGHUP ignored, and so
# would every harness it starts (an ignored signal stays ignored across exec, and the harness
# rightly leaves it so): the tests of what Ctrl-C and a closed terminal do would hang. The
# suite's own process takes the defaults back, so the children start with them.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
if signal.getsignal(signal.SIGHUP) is signal.SIG_IGN:
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`make test` runs two workers), a test that uses a module-scoped
    fixture runs on the same worker as the module's other such tests, so the fixture's real
    runs are made once, not once per worker (`--dist loadgroup` reads the group)."""
    for item in items:
        definitions = getattr(item, "_fixtureinfo", None)
        if definitions is None:
            continue
        if any(d.scope == "module" for defs in definitions.name2fixturedefs.values()
               for d in defs):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.partition("::")[0]))


def run_cli(*args: str, timeout: float = 240, env: dict[str, str] | None = None,
            ) -> subprocess.CompletedProcess[str]:
    """`harness ARGS...` in a child process, as a user would run it."""
    return subprocess.run([sys.executable, "-m", "session_store_harness.cli", *args],
                          capture_output=True, text=True, timeout=timeout, cwd=REPO, env=env)


def assert_one_line_error(result: subprocess.CompletedProcess[str], exit_code: int,
                          *fragments: str) -> None:
    assert result.returncode == exit_code, result.stderr
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert error_lines, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def store_in(folder: Path, spec: GenerateSpec) -> Path:
    """A generated `sessions.json` in a folder of its own (stores put lock files beside it)."""
    folder.mkdir()
    return generate(spec, folder / "sessions.json").path


@pytest.fixture
def small_store(tmp_path: Path) -> Path:
    """A 200 KB realistic store."""
    return store_in(tmp_path / "store", GenerateSpec("realistic", seed=7, target_kb=200))


@pytest.fixture
def pr_store(tmp_path: Path) -> Path:
    """A 100 KB store in the fix's own shape (about 45 entries of 2.2 KB)."""
    return store_in(tmp_path / "pr", GenerateSpec("pr", seed=3, target_kb=100))


BURNER_MODULE = "session_store_harness.worker.burner"


def burner_running(pid: int) -> bool:
    """The recorded pid is still a noise burner: not gone, not a zombie waiting for a reaper,
    and not reused by another program. A process on its way out has an empty command line
    but is not gone yet (its parent cannot reap it): that counts as running."""
    try:
        process = psutil.Process(pid)
        command = process.cmdline()
        return process.status() != psutil.STATUS_ZOMBIE and (
            not command or BURNER_MODULE in command)
    except psutil.NoSuchProcess:
        return False


def gone_within(pids: list[int], seconds: float) -> bool:
    """True once none of the recorded burner `pids` runs, False if one still does after
    `seconds`."""
    deadline = time.monotonic() + seconds
    while any(burner_running(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
