"""How the harness starts its own Python children, stops any child's process group, and turns
SIGTERM and SIGHUP into the interruption Ctrl-C already is.

Children run in isolated-path mode (`-P`, no current folder on `sys.path`) with `PYTHONPATH`
removed, so a user's own `harness/` or `stores/` package (or anything else on their path) can
never shadow the modules the worker runs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping

from session_store_harness.errors import HarnessError

SHADOWING_VARIABLES = ("PYTHONPATH",)
# Thread pools of the numeric libraries (OpenBLAS, OpenMP, MKL) the parent loads for summaries.
NUMERIC_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
# Ended like Ctrl-C: `kill`, systemd and CI runners stop with SIGTERM, a closed terminal SIGHUP.
INTERRUPTING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def python_module(module: str, *args: str) -> list[str]:
    """The command line that runs `module` of this package with this interpreter."""
    return [sys.executable, "-P", "-m", module, *args]


def child_env(extra: Mapping[str, str] = ()) -> dict[str, str]:
    """This process's environment without the variables that could shadow our modules."""
    env = {k: v for k, v in os.environ.items() if k not in SHADOWING_VARIABLES}
    env.update(dict(extra))
    return env


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the process group a child leads (`start_new_session=True`), then reap it."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait()


def limit_numeric_threads() -> None:
    """One thread for OpenBLAS, OpenMP and MKL in this process, where the user set no number.

    OpenBLAS starts a thread and buffers per CPU when it loads; under an address-space limit
    (`prlimit --as`, `ulimit -v`) that start-up hangs or calls exit(1) ("OpenBLAS error")
    after the run was measured but before its folder was written. The summaries need one
    thread. Must run before numpy or scipy loads: the libraries read these once, at load.

    `os.putenv`, not `os.environ`: the C environment the libraries read changes, while
    `os.environ`, from which measured children get their environment (`child_env`, the
    commands `check-memory` runs) and which meta.json records, stays what the user had.
    """
    for name in NUMERIC_THREAD_VARIABLES:
        if name not in os.environ:
            os.putenv(name, "1")


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where Ctrl-C raises `KeyboardInterrupt`: so every path that
    keeps partial results, kills workers and removes scratch on Ctrl-C does so for these."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signal_name = signal.Signals(signum).name


def describe_interruption(exc: BaseException | None) -> str:
    """What ended the run, for its error and the one-line message."""
    if isinstance(exc, Interrupted):
        return f"interrupted by {exc.signal_name}"
    return "interrupted by the user (Ctrl-C)"


class _SignalState:
    """Whether an interrupting signal has already been raised in this process."""

    raised = False


def interrupt_on_signals() -> None:
    """Make SIGTERM and SIGHUP raise `Interrupted` in the main thread, once.

    A repeat of the signal while the harness winds down (killing the worker, writing the
    folder) is ignored: raising again inside that clean-up would lose what it is saving. A
    signal the harness was started ignoring (`nohup` ignores SIGHUP) stays ignored.
    """
    for signum in INTERRUPTING_SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _raise_once)


def _raise_once(signum: int, _frame: object) -> None:
    if not _SignalState.raised:
        _SignalState.raised = True
        raise Interrupted(signum)


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP while results are written, then raise the first.

    A folder is written whole or, on a write error, saved elsewhere; an interruption halfway
    through would leave CSVs without their meta.json. Signal handlers can only be set from
    the main thread; elsewhere this holds nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    held = [s for s in (signal.SIGINT, *INTERRUPTING_SIGNALS)
            if signal.getsignal(s) is not signal.SIG_IGN]
    previous = {signum: signal.signal(signum, lambda s, _f: caught.append(s)) for signum in held}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if caught and not _SignalState.raised:
        _SignalState.raised = caught[0] != signal.SIGINT
        raise KeyboardInterrupt() if caught[0] == signal.SIGINT else Interrupted(caught[0])


def node_binary() -> str:
    """The `node` that runs the Node workers and stress writers, or a one-line refusal."""
    node = shutil.which("node")
    if node is None:
        raise HarnessError("--runtime node needs Node.js (node) on the PATH")
    return node
