"""The one error type the harness raises, and the one table of exit codes.

Only the CLI turns a `HarnessError` into a message and an exit code. The worker processes the
harness starts have exit codes of their own, distinct from the CLI's, so a code in a log names
one thing. Standard library only: the worker imports this module.
"""

from __future__ import annotations

# The `harness` command's exit codes.
EXIT_OK = 0
EXIT_FAILED = 1  # a run failed, a gate or memory check found a regression, stress lost data
EXIT_USAGE = 2  # bad arguments or config, missing, unreadable or incomparable input
EXIT_INCONCLUSIVE = 3  # the gate could not tell a change from noise: rerun with more repeats
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), partial results kept

# Exit codes of the harness's own child processes (the Python and Node workers, stress writers).
WORKER_STORE_ERROR = 10  # the store raised its error; the `error` message says why
WORKER_RUNNER_GONE = 11  # the ack pipe closed: nobody is measuring any more
WRITER_STORE_ERROR = 12  # a `harness stress` writer's store failed
WRITER_LOCK_TIMEOUT = 13  # a `harness stress` writer gave up waiting for the store's lock
DRIVER_BAD_STORE = 14  # a `harness conform` driver could not load the store its spec names

EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success (gate: every check passed)",
    EXIT_FAILED: "failure: a run failed, a limit or a significant regression was exceeded",
    EXIT_USAGE: "usage: bad options or config, missing or unreadable files, runs not comparable",
    EXIT_INCONCLUSIVE: "inconclusive: a change over a threshold that is not significant, or "
                       "too few repeats to tell",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C, SIGTERM or SIGHUP); partial results kept",
}
CHILD_EXIT_CODES: dict[int, str] = {
    WORKER_STORE_ERROR: "worker: the store failed (its error message names the file)",
    WORKER_RUNNER_GONE: "worker: the runner went away",
    WRITER_STORE_ERROR: "stress writer: the store failed",
    WRITER_LOCK_TIMEOUT: "stress writer: gave up waiting for the store's lock (10 s)",
    DRIVER_BAD_STORE: "conform driver: the store spec names no loadable store",
}


def exit_code_help(codes: tuple[int, ...] = tuple(EXIT_CODES)) -> str:
    """The exit codes as lines for a command's --help."""
    return "\n".join(f"{code}: {EXIT_CODES[code]}" for code in codes)


class HarnessError(Exception):
    """A failure to report in one line, with the exit code the CLI should use."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code
