"""`harness check-worker`: run a worker for a few cycles and say what breaks the protocol or
the store contract. Only parses options: the run is `measuring/worker_check.py`'s, the findings
`judging/worker_contract.py`'s, the lines `writers/check_text.py`'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from session_store_harness.commands.options import store_option, store_shape_options
from session_store_harness.errors import EXIT_FAILED, HarnessError
from session_store_harness.model.config import DEFAULT_TARGET_KB

EPILOG = ("\b\nExit codes:\n"
          "0: the worker kept the protocol and the store contract\n"
          "1: something broke (each finding on one line)\n"
          "2: bad options or store")


@click.command(epilog=EPILOG)
@store_option
@click.option("--store-file", type=click.Path(path_type=Path),
              help="Run on a copy of this store instead of a generated one "
              f"({DEFAULT_TARGET_KB['check']} KiB by default).")
@store_shape_options
@click.option("--cycles", type=int, default=4, show_default=True, help="Cycles to run.")
@click.option("--sample-every", type=int, default=2, show_default=True,
              help="A sample after every N cycles (and after the last).")
@click.option("--touch-keys", type=int, default=400, show_default=True,
              help="Cycles update the first N keys in turn.")
@click.option("--touch-fields", metavar="A,B,...",
              help="Fields each cycle's update sets (default updatedAt,lastTo,label).")
@click.option("--warmup-cycles", type=int, default=0, show_default=True,
              help="Cycles run before cycle 0 (their updates are checked too).")
@click.option("--reuse-loaded-store", is_flag=True,
              help="Pass each cycle's loaded store to update() as its base snapshot.")
@click.option("--env", multiple=True, help="NAME=VALUE set for the worker (repeatable).")
@click.option("--timeout", "timeout_s", type=float, default=120.0, show_default=True,
              help="Seconds before the worker is killed and that is reported.")
def check_worker(target_kb: int | None, store_file: Path | None, **values: Any) -> None:
    """Run a worker (a --worker-cmd program, a Node module, a Python class, a built-in) for a
    few cycles on a small store and report each way it breaks the worker protocol or the
    store contract: messages and fields, protocol version, loads, updates, the file, exit."""
    from session_store_harness.judging.worker_contract import judge_worker
    from session_store_harness.measuring.worker_check import run_worker_check
    from session_store_harness.model.config import run_config
    from session_store_harness.writers.check_text import check_lines

    if store_file is None and target_kb is None and values["entries"] is None:
        target_kb = DEFAULT_TARGET_KB["check"]
    config = run_config(store_file=store_file, target_kb=target_kb, repeat=1, **values)
    check = run_worker_check(config)
    verdict = judge_worker(check)
    click.echo("\n".join(check_lines(check, verdict)))
    if not verdict.ok:
        raise HarnessError(f"check-worker: {len(verdict.findings)} problem(s) found",
                           EXIT_FAILED)
