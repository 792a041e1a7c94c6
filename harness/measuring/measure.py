"""One measured run from config to result folder: prepare the store, run repeats, write."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from session_store_harness.errors import HarnessError
from session_store_harness.measuring.environment import capture
from session_store_harness.measuring.runner import run_repeats, store_source
from session_store_harness.measuring.storefile import prepare_store
from session_store_harness.model.config import RunConfig
from session_store_harness.model.result_folder import write_run
from session_store_harness.model.run import Run


def measure(config: RunConfig, folder: Path, argv: tuple[str, ...] = (),
            on_cycle: Callable[[int, int], None] | None = None) -> Run:
    """Run `config` into the new, empty `folder`; a failed run is written too, and returned."""
    with tempfile.TemporaryDirectory(prefix="harness-") as scratch:
        try:
            store_path, store_info = prepare_store(config, Path(scratch))
            environment = capture(dict(config.env), {"store": store_source(config)})
            run = run_repeats(config, store_path, store_info, environment, Path(scratch), argv,
                              on_cycle)
        except (HarnessError, KeyboardInterrupt):
            folder.rmdir()  # no worker ran (bad store, no node...): leave no empty result
            raise
    return write_run(run, folder, summary_file)


def summary_file(run: Run) -> dict[str, str]:
    """summary.json, computed from the run in memory as it reads back from its folder (scipy
    loads only here)."""
    if not run.measured:
        return {}
    from session_store_harness.judging.metrics import summarize
    from session_store_harness.writers.summary_json import summary_json

    return {"summary.json": summary_json(summarize(run))}
