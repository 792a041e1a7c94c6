"""The gateway's store lock: an in-process queue per path plus a cross-process lock file.

The lock file `<store>.lock` is created exclusively and holds `{pid, createdAt}`. A waiter
retries with backoff `min(1000, 50 * attempt)` ms for up to 10 s; a lock whose pid is dead or
that is older than 30 s is stale and taken over (docs/store-behaviour.md,
"Before the fix").

Judging a lock stale and removing it is one step: Python waiters take the folder's `flock`, and
every waiter, Python or Node (which has no `flock`), first creates the claim file
`<store>.lock.takeover` exclusively. Without that, two waiters can judge the same dead lock
stale, one removes it, a third writer creates a fresh lock, and the other waiter removes that
live lock: two writers then hold "the" lock and one sweeps the other's temp file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from session_store_harness.stores.base import LockTimeout, StoreError

TIMEOUT_S = 10.0
STALE_S = 30.0

_in_process: dict[Path, threading.Lock] = {}
_registry_guard = threading.Lock()


def lock_path_for(store_path: Path) -> Path:
    return store_path.with_name(store_path.name + ".lock")


def claim_path_for(store_path: Path) -> Path:
    """The takeover claim: held by the one waiter that judges and removes a stale lock."""
    return _claim_of(lock_path_for(store_path))


def _claim_of(lock_file: Path) -> Path:
    return lock_file.with_name(lock_file.name + ".takeover")


@contextlib.contextmanager
def store_lock(store_path: Path, timeout_s: float = TIMEOUT_S,
               stale_s: float = STALE_S) -> Iterator[None]:
    """Hold the store's lock for the body; leftovers of killed writers are swept on entry."""
    with _registry_guard:
        local = _in_process.setdefault(store_path.resolve(), threading.Lock())
    with local:
        lock_file = lock_path_for(store_path)
        _acquire(lock_file, timeout_s, stale_s)
        try:
            _sweep_temp_files(store_path)
            yield
        finally:
            lock_file.unlink(missing_ok=True)


def _acquire(lock_file: Path, timeout_s: float, stale_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    attempt = 0
    while True:
        if _try_create(lock_file):
            return
        _take_over_if_stale(lock_file, stale_s)
        attempt += 1
        if time.monotonic() >= deadline:
            holder = _read_holder(lock_file)
            raise LockTimeout(f"{lock_file}: lock still held by pid {holder.get('pid', '?')} "
                              f"after {timeout_s:g} s")
        time.sleep(min(1000, 50 * attempt) / 1000)


def _try_create(lock_file: Path) -> bool:
    try:
        fd = os.open(lock_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    except FileNotFoundError:
        raise StoreError(f"{lock_file.parent}: store folder does not exist") from None
    except PermissionError:
        raise StoreError(f"{lock_file}: no permission to create the lock file") from None
    with os.fdopen(fd, "w") as handle:
        json.dump({"pid": os.getpid(), "createdAt": int(time.time() * 1000)}, handle)
    return True


def _read_holder(lock_file: Path) -> dict:
    try:
        holder = json.loads(lock_file.read_text())
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


def _take_over_if_stale(lock_file: Path, stale_s: float) -> None:
    # Two waiters may judge the same lock stale; the folder's flock (Python waiters) and the
    # claim file (Node waiters too) make judging and removing one step, so a waiter never
    # removes a lock that another waiter has just taken over.
    folder_fd = os.open(lock_file.parent, os.O_RDONLY)
    try:
        fcntl.flock(folder_fd, fcntl.LOCK_EX)
        if _is_stale(lock_file, stale_s):
            _remove_under_claim(lock_file, stale_s)
    finally:
        os.close(folder_fd)  # closing releases the flock


def _remove_under_claim(lock_file: Path, stale_s: float) -> None:
    claim = _claim_of(lock_file)
    if not _try_create(claim):
        _remove_if_stale(claim, stale_s)  # left by a waiter killed while it judged
        return
    try:
        # Judged again: a Node waiter may have replaced the lock before the claim was ours.
        if _is_stale(lock_file, stale_s):
            lock_file.unlink(missing_ok=True)
    finally:
        claim.unlink(missing_ok=True)


def _remove_if_stale(path: Path, stale_s: float) -> None:
    if _is_stale(path, stale_s):
        path.unlink(missing_ok=True)


def _is_stale(lock_file: Path, stale_s: float) -> bool:
    try:
        age_s = time.time() - lock_file.stat().st_mtime
    except FileNotFoundError:
        return False
    holder = _read_holder(lock_file)
    pid = holder.get("pid")
    if not isinstance(pid, int):
        # A holder killed between create and write leaves an empty file; give it a moment.
        return age_s > 1.0
    return age_s > stale_s or not _pid_alive(pid)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def _sweep_temp_files(store_path: Path) -> None:
    # Only the lock holder writes temp files, so any left now belong to a killed writer.
    for leftover in store_path.parent.glob(store_path.name + ".*.tmp"):
        leftover.unlink(missing_ok=True)
    # A claim is held for microseconds; one whose holder is dead was left by a killed waiter.
    _remove_if_stale(claim_path_for(store_path), STALE_S)
