"""The one error type the harness raises; only the CLI turns it into a message and exit code."""

from __future__ import annotations

EXIT_FAILED = 1  # a run failed, or a gate found a regression
EXIT_USAGE = 2  # bad arguments, missing or unreadable input


class HarnessError(Exception):
    """A failure to report in one line, with the exit code the CLI should use."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code
