"""The two commits a pull request is judged by, checked out side by side on this machine.

Baseline and candidate must be measured on one runner, interleaved: runs from two machines
are not comparable. Each commit gets a detached `git worktree` in a private scratch folder, so
the user's own checkout (and its uncommitted files) is never touched, and each side's store
code, configuration and relative paths are its own commit's.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from session_store_harness.errors import EXIT_FAILED, HarnessError
from session_store_harness.measuring.environment import GIT_LOCATION_VARIABLES

GIT_TIMEOUT_S = 120  # a worktree of a large repository takes a while to write out
PREPARE_TIMEOUT_S = 1800  # `npm ci` in a cold cache
MAX_TAIL = 500  # of a failed command's last line: it is the pull request's text, posted


@dataclass(frozen=True)
class Commits:
    """The commits judged: the merge base of the target branch and the head, and the head."""

    base_ref: str
    head_ref: str
    base: str  # the merge base: what the pull request changes, and nothing the target gained
    head: str


def repository_root(folder: Path) -> Path:
    try:
        return Path(_git(folder, "rev-parse", "--show-toplevel").strip())
    except HarnessError:
        raise HarnessError(f"{folder}: not inside a git repository (harness ci measures two "
                           "of its commits)") from None


def resolve_commits(repo: Path, base_ref: str, head_ref: str) -> Commits:
    """The head, and the merge base of `base_ref` with it (a shallow clone has none: say so)."""
    head = _commit(repo, head_ref)
    base_tip = _commit(repo, base_ref)
    try:
        base = _git(repo, "merge-base", base_tip, head).strip()
    except HarnessError:
        raise HarnessError(f"no merge base of {base_ref} and {head_ref} in {repo}: fetch the "
                           "history (actions/checkout with fetch-depth: 0)") from None
    return Commits(base_ref=base_ref, head_ref=head_ref, base=base, head=head)


@contextlib.contextmanager
def checkouts(repo: Path, commits: dict[str, str]) -> Iterator[dict[str, Path]]:
    """A detached worktree of each commit (by side name), removed again on the way out, even
    after an error or Ctrl-C."""
    with tempfile.TemporaryDirectory(prefix="harness-ci-") as scratch:
        made: dict[str, Path] = {}
        try:
            for side, commit in commits.items():
                folder = Path(scratch) / side
                _git(repo, "worktree", "add", "--detach", "--quiet", str(folder), commit)
                made[side] = folder
            yield made
        finally:
            for folder in made.values():
                with contextlib.suppress(HarnessError):
                    _git(repo, "worktree", "remove", "--force", str(folder))
            with contextlib.suppress(HarnessError):
                _git(repo, "worktree", "prune")


def prepare_argv(command: str) -> tuple[str, ...]:
    """`--prepare`'s command split as a shell would split it (no shell runs it, and nothing in
    it is expanded); checked before anything is checked out or measured."""
    try:
        return tuple(shlex.split(command))
    except ValueError as exc:
        raise HarnessError(f"--prepare {command!r}: {exc}") from None


def prepare(folder: Path, argv: tuple[str, ...], side: str) -> None:
    """Run the user's set-up command (`npm ci`, say) in one side's checkout."""
    shown = shlex.join(argv)
    try:
        done = subprocess.run(argv, cwd=folder, capture_output=True, text=True,
                              timeout=PREPARE_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HarnessError(f"--prepare {shown!r} in the {side} checkout: {exc}",
                           EXIT_FAILED) from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise HarnessError(f"--prepare {shown!r} in the {side} checkout exited "
                           f"{done.returncode}: {tail[0][:MAX_TAIL]}", EXIT_FAILED)


def _commit(repo: Path, ref: str) -> str:
    """The commit `ref` names, or `origin/<ref>`'s: a CI clone has the target branch only as
    a remote-tracking branch."""
    for candidate in (ref, f"origin/{ref}"):
        try:
            return _git(repo, "rev-parse", "--verify", "--quiet",
                        f"{candidate}^{{commit}}").strip()
        except HarnessError:
            continue
    raise HarnessError(f"{ref!r} names no commit in {repo} (nor does origin/{ref})")


def _git(folder: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True,
                              text=True, timeout=GIT_TIMEOUT_S, stdin=subprocess.DEVNULL,
                              env=_env())
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HarnessError(f"git {args[0]}: {exc}") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise HarnessError(f"git {' '.join(_shown(args))}: {last}")
    return done.stdout


def _shown(args: Sequence[str]) -> list[str]:
    return [a for a in args if not a.startswith("--quiet")]


def _env() -> dict[str, str]:
    # the same hook-set variables the environment's git readers drop (they write here, so
    # without GIT_OPTIONAL_LOCKS=0)
    return {k: v for k, v in os.environ.items() if k not in GIT_LOCATION_VARIABLES}
