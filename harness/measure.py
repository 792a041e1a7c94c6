"""One measured run from config to result folder: prepare the store, run repeats, write."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from harness.config import RunConfig
from harness.environment import capture
from harness.errors import HarnessError
from harness.records import Run
from harness.runner import run_repeats
from harness.storefile import prepare_store
from harness.writers.folder import write_text
from harness.writers.run_folder import write_run


def measure(config: RunConfig, folder: Path, argv: tuple[str, ...] = (),
            on_cycle: Callable[[int, int], None] | None = None) -> Run:
    """Run `config` into the new, empty `folder`; a failed run is written too, and returned."""
    with tempfile.TemporaryDirectory(prefix="harness-") as scratch:
        try:
            store_path, store_info = prepare_store(config, Path(scratch))
            run = run_repeats(config, store_path, store_info, capture(dict(config.env)),
                              Path(scratch), argv, on_cycle)
        except (HarnessError, KeyboardInterrupt):
            folder.rmdir()  # no worker ran (bad store, no node...): leave no empty result
            raise
    write_run(run, folder)
    if any(repeat.samples for repeat in run.repeats):
        write_summary(folder)
    return run


def write_summary(folder: Path) -> None:
    """summary.json, derived from the CSVs just written (pandas and scipy load only here)."""
    from harness.results import load_run
    from harness.summary import summarize
    from harness.writers.summary_json import summary_json

    write_text(folder / "summary.json", summary_json(summarize(load_run(folder))))
