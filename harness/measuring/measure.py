"""One measured run from config to result folder: prepare the store, run repeats, write.

What was measured is never lost to what comes after it: the folder's CSVs and meta.json are
written before summary.json (whose numeric libraries can fail to load under a memory limit),
a folder that cannot be written (a full disk) is written under TMPDIR instead, and signals are
held while any of it is written.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable
from pathlib import Path

from session_store_harness.errors import EXIT_FAILED, HarnessError
from session_store_harness.measuring.environment import capture
from session_store_harness.measuring.preflight import check_loadable
from session_store_harness.measuring.processes import interrupts_deferred
from session_store_harness.measuring.runner import code_under_test, new_layout_seed, run_repeats
from session_store_harness.measuring.storefile import prepare_store
from session_store_harness.model.config import RunConfig
from session_store_harness.model.result_folder import write_run
from session_store_harness.model.run import Run
from session_store_harness.writers.folder import create_folder, new_result_folder, write_text

# What `write_run` may have left in a folder it could not finish (atomic_file's temporaries
# remove themselves): removed once the run is saved elsewhere.
PARTIAL_FILES = ("*.csv", "*.json", "worker-*-stderr.txt")
FALLBACK_NAME_CHARS = 100  # of the folder's name, in the fallback's: a long --label must fit


def new_folder(path: Path, label: str | None = None) -> Path:
    """The new folder `path` (no label), or a new `<timestamp>-<label>` under `path`.

    A file system's refusal (read-only, a name too long) is a one-line error, not a traceback.
    """
    try:
        return create_folder(path) if label is None else new_result_folder(path, label)
    except OSError as exc:
        where = exc.filename or path
        raise HarnessError(f"{where}: cannot create the result folder "
                           f"({exc.strerror or exc})") from None


def measure(config: RunConfig, folder: Path, argv: tuple[str, ...] = (),
            on_cycle: Callable[[int, int], None] | None = None,
            layout_seed: int | None = None, fixed_layout: bool = False) -> Run:
    """Run `config` into the new, empty `folder`; a failed run is written too, and returned.

    Each repeat's layout is drawn from `layout_seed` (default: a new seed, recorded), unless
    `fixed_layout`. Raises a `HarnessError` (exit 1) after the run is saved when it could only
    be saved under TMPDIR, or when summary.json could not be computed or written.
    """
    seed = None if fixed_layout else resolve_layout_seed(layout_seed)
    return keep(_measured(config, folder, argv, on_cycle, seed), folder)


def resolve_layout_seed(layout_seed: int | None) -> int:
    return new_layout_seed() if layout_seed is None else layout_seed


def resolve_order_seed(order: str, seed: int | None) -> int | None:
    """The seed a random order is drawn from (a new one, recorded, when none is given); None
    for a fixed order."""
    if order != "random":
        return None
    return new_layout_seed() if seed is None else seed


def keep(run: Run, folder: Path) -> Run:
    """Write the measured `run` into `folder` (or under TMPDIR) and return it as written."""
    kept, problems = save(run, folder)
    if problems:
        if not kept.complete:  # this line replaces the run's own report: say how it ended
            problems.insert(0, f"run {kept.status}: {kept.error}")
        raise HarnessError("; ".join(problems), EXIT_FAILED)
    return kept


def save(run: Run, folder: Path) -> tuple[Run, list[str]]:
    """The run as written, with summary.json, and the problems to report (see `measure`)."""
    with interrupts_deferred():  # a folder half written is worth less than a late Ctrl-C
        kept, saved_elsewhere = _saved(run, folder)
        no_summary = _add_summary(kept, kept.folder or folder)
    return kept, [problem for problem in (saved_elsewhere, no_summary) if problem]


def scratch_folder(*folders: Path) -> tempfile.TemporaryDirectory:
    """A new scratch folder; when there is none, the empty result `folders` are removed."""
    try:
        return tempfile.TemporaryDirectory(prefix="harness-", ignore_cleanup_errors=True)
    except OSError as exc:  # TMPDIR missing, unwritable or full
        for folder in folders:
            folder.rmdir()
        raise HarnessError(f"cannot make a scratch folder ({exc.strerror or exc}); "
                           "nothing was run") from None


def _measured(config: RunConfig, folder: Path, argv: tuple[str, ...],
              on_cycle: Callable[[int, int], None] | None, layout_seed: int | None) -> Run:
    """The run, measured in a scratch folder that is gone when this returns or raises."""
    with scratch_folder(folder) as scratch:
        try:
            check_loadable(config.spec, dict(config.env))
            store_path, store_info = prepare_store(config, Path(scratch))
            environment = capture(dict(config.env), code_under_test(config))
            return run_repeats(config, store_path, store_info, environment, Path(scratch),
                               argv, on_cycle, layout_seed)
        except (HarnessError, KeyboardInterrupt):
            folder.rmdir()  # no worker ran (bad store, no node, full TMPDIR...): no empty result
            raise


def _saved(run: Run, folder: Path) -> tuple[Run, str | None]:
    """The run as written to `folder`, or, when that fails, to a new folder under TMPDIR,
    with the problem to report; when both fail the measurements are lost, said in one line."""
    try:
        return write_run(run, folder), None
    except (HarnessError, OSError) as exc:
        problem = str(exc)
    fallback: Path | None = None
    try:
        fallback = Path(tempfile.mkdtemp(
            prefix=f"harness-unsaved-{folder.name[:FALLBACK_NAME_CHARS]}-"))
        kept = write_run(run, fallback)
    except (HarnessError, OSError) as exc:
        if fallback is not None:
            _discard_partial(fallback)
        reason = str(exc) if isinstance(exc, HarnessError) else _one_line(exc)
        raise HarnessError(f"{problem}; writing the run to a new folder under TMPDIR failed "
                           f"too ({reason}): its measurements are lost", EXIT_FAILED) from None
    _discard_partial(folder)
    return kept, f"{problem}; the run was written to {fallback} instead"


def _discard_partial(folder: Path) -> None:
    """Remove what was written of `folder`: the run is whole elsewhere, and CSVs without a
    meta.json would only be refused by every command (and hold space on a full disk)."""
    for pattern in PARTIAL_FILES:
        for path in folder.glob(pattern):
            with contextlib.suppress(OSError):
                path.unlink()
    with contextlib.suppress(OSError):
        folder.rmdir()


def _add_summary(run: Run, folder: Path) -> str | None:
    """Write summary.json into the run's complete `folder`; the problem, if any, to report."""
    try:
        files = summary_file(run)
    except Exception as exc:  # numpy/scipy failing to load (ImportError, MemoryError...)
        return (f"summary.json could not be computed: {_one_line(exc)} (every other file of "
                f"the run is in {folder})")
    try:
        for name, text in files.items():
            write_text(folder / name, text)
    except HarnessError as exc:
        return f"summary.json could not be written: {exc} (every other file of the run is kept)"
    return None


def summary_file(run: Run) -> dict[str, str]:
    """summary.json, computed from the run in memory as it reads back from its folder (scipy
    loads only here)."""
    if not run.measured:
        return {}
    from session_store_harness.judging.metrics import summarize
    from session_store_harness.writers.summary_json import summary_json

    return {"summary.json": summary_json(summarize(run))}


def _one_line(exc: BaseException) -> str:
    """The root of an exception chain in one line: numpy wraps a failed library load in a
    page of advice whose first cause is the line that says what happened."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
