"""Environment facts: the cgroup memory limit as a number, and the commit of any code's repo."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from pathlib import Path

import pytest

from session_store_harness.measuring.environment import (
    capture,
    code_commit,
    describe_memory_limit,
    git_file_state,
    parse_cgroup_memory_limit,
)


@pytest.mark.parametrize(("text", "limit"), [
    ("max", None),  # cgroup v2 without a limit
    ("max\n", None),
    ("9223372036854771712", None),  # cgroup v1 without a limit
    ("8589934592", 8 * 2**30),
    ("8589934592\n", 8 * 2**30),
])
def test_cgroup_limit_parser(text: str, limit: int | None) -> None:
    assert parse_cgroup_memory_limit(text) == limit


def test_cgroup_limit_parser_refuses_what_is_no_limit_file() -> None:
    with pytest.raises(ValueError):
        parse_cgroup_memory_limit("lots")


def test_cgroup_limit_display() -> None:
    assert describe_memory_limit(None) == "none"
    assert describe_memory_limit(parse_cgroup_memory_limit("8589934592")) == "8.0 GiB"
    assert describe_memory_limit(512 * 2**20) == "512.0 MiB"


def test_capture_records_the_limit_in_both_forms() -> None:
    env = capture()
    limit = env["cgroup_memory_limit_bytes"]
    assert limit is None or (isinstance(limit, int) and 0 < limit < 2**60)
    if limit is None:
        assert env["cgroup_memory_limit"] in ("none", "unknown")
    else:
        assert env["cgroup_memory_limit"] == describe_memory_limit(limit)


@pytest.fixture
def git_env(tmp_path: Path) -> dict[str, str]:
    """An environment where `git commit` works without the user's own git configuration."""
    config = tmp_path / "gitconfig"
    config.write_text("[init]\n\tdefaultBranch = main\n")
    outside = {name: value for name, value in os.environ.items() if not name.startswith("GIT_")}
    return {**outside, "GIT_CONFIG_GLOBAL": str(config), "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com"}


def git(folder: Path, env: dict[str, str], *args: str) -> str:
    return subprocess.run(["git", "-C", str(folder), *args], env=env, check=True,
                          capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, git_env: dict[str, str]) -> Path:
    """A scratch repository with one commit: `store.py` and `pkg/module.py`."""
    folder = tmp_path / "repo"
    (folder / "pkg").mkdir(parents=True)
    (folder / "store.py").write_text("VALUE = 1\n")
    (folder / "pkg" / "module.py").write_text("")
    git(folder, git_env, "init", "-q")
    git(folder, git_env, "add", ".")
    git(folder, git_env, "commit", "-q", "-m", "first")
    return folder


def test_code_commit_of_a_clean_repository(repo: Path, git_env: dict[str, str]) -> None:
    head = git(repo, git_env, "rev-parse", "HEAD")
    assert re.fullmatch(r"[0-9a-f]{40}", head)
    # the folder, a file in it and a subfolder all name the same repository
    assert code_commit(repo) == head
    assert code_commit(repo / "store.py") == head
    assert code_commit(repo / "pkg") == head


def test_code_commit_is_dirty_after_changing_a_tracked_file(repo: Path,
                                                            git_env: dict[str, str]) -> None:
    (repo / "untracked.txt").write_text("not part of the code")
    assert not code_commit(repo).endswith("-dirty")  # untracked files do not count
    (repo / "store.py").write_text("VALUE = 2\n")
    head = git(repo, git_env, "rev-parse", "HEAD")
    assert code_commit(repo) == f"{head}-dirty"
    assert code_commit(repo / "pkg" / "module.py") == f"{head}-dirty"


def test_code_commit_outside_any_repository(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # git must not find a checkout that happens to hold the temporary folder on some machine
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "code.py").write_text("")
    assert code_commit(folder) is None
    assert code_commit(folder / "code.py") is None
    assert code_commit(folder / "missing" / "code.py") is None


def test_capture_names_the_code_under_test_and_the_working_dir(repo: Path,
                                                               git_env: dict[str, str]) -> None:
    head = git(repo, git_env, "rev-parse", "HEAD")
    env = capture(code_paths={"store": repo / "store.py"})
    digest = hashlib.sha256((repo / "store.py").read_bytes()).hexdigest()
    assert env["code_under_test"] == {"store": {"path": str(repo / "store.py"),
                                                "git_commit": head, "sha256": digest,
                                                "git_file_state": "committed"}}
    assert env["working_dir"] == {"path": os.getcwd(), "git_commit": code_commit(Path.cwd()),
                                  "sha256": None, "git_file_state": None}
    assert capture()["code_under_test"] == {}


def test_a_files_own_state_says_what_the_commit_cannot(repo: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a committed file, a changed one and a new one never added
    (repo / "new_store.py").write_text("class Store: ...\n")
    assert git_file_state(repo / "store.py") == "committed"
    assert git_file_state(repo / "new_store.py") == "untracked"
    (repo / "store.py").write_text("VALUE = 3\n")
    assert git_file_state(repo / "store.py") == "modified"
    # AND outside any repository there is no state to tell
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(repo.parent))
    outside = repo.parent / "plain.py"
    outside.write_text("")
    assert git_file_state(outside) is None
