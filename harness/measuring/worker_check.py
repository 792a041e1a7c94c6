"""`harness check-worker`'s run: a worker for a few cycles on a small store, everything kept.

The worker runs as a measured one does (`runner.run_worker`), with every message it sent kept in
order; the store file is read before and after, strictly (`stress.strict_parse`: a store must
never vouch for its own output). What breaks the protocol or the store contract is then the
judge's to say (`judging/worker_contract.py`).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from session_store_harness.measuring.measure import scratch_folder
from session_store_harness.measuring.runner import run_worker
from session_store_harness.measuring.storefile import STORE_NAME, prepare_store
from session_store_harness.measuring.stress import InvalidStore, strict_parse
from session_store_harness.model.config import RunConfig
from session_store_harness.model.run import WorkerRun
from session_store_harness.stores.jsonfile import read_bytes

# Timestamps a worker sets (`updatedAt`) are checked against the run's own span, give or take
# this much: the worker's clock is the same machine's, read a little before or after ours.
CLOCK_SLACK_MS = 2000


@dataclass(frozen=True)
class WorkerCheckRun:
    """What one checked worker did: its messages, how it ended, the file before and after."""

    config: RunConfig
    original: dict[str, Any]  # the store before the first cycle, in file order
    messages: tuple[dict[str, Any], ...]  # every valid message, in order
    run: WorkerRun
    final: dict[str, Any] | None  # the store file after the worker, None if not a store
    final_problem: str | None  # why the file after the worker is not a store
    started_ms: int  # the run's span, epoch ms, for the timestamps a cycle sets
    finished_ms: int


def run_worker_check(config: RunConfig) -> WorkerCheckRun:
    """Run `config`'s worker once over a scratch copy of its store, keeping everything."""
    with scratch_folder() as scratch:
        pristine, _ = prepare_store(config, Path(scratch))
        folder = Path(scratch) / "checked"
        folder.mkdir()
        path = folder / STORE_NAME
        shutil.copyfile(pristine, path)
        original = strict_parse(read_bytes(pristine), pristine)
        messages: list[dict[str, Any]] = []
        started_ms = _now_ms()
        run = run_worker(config, path, folder, transcript=messages)
        finished_ms = _now_ms()
        final, problem = _after(path)
    return WorkerCheckRun(config, original, tuple(messages), run, final, problem,
                          started_ms - CLOCK_SLACK_MS, finished_ms + CLOCK_SLACK_MS)


def _after(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    try:
        return strict_parse(path.read_bytes(), path), None
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc})"
    except InvalidStore as exc:
        return None, str(exc).removeprefix(f"{path}: ")


def _now_ms() -> int:
    return int(time.time() * 1000)
