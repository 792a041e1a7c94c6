"""Shared helpers: a small generated store, and the CLI run as a real subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from session_store_harness.generating.generator import GenerateSpec, generate

REPO = Path(__file__).resolve().parent.parent


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
