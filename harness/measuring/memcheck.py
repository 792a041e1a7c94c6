"""Peak memory of any command and its whole process tree, measured from outside.

The second place that starts processes (the first, `runner.py`, drives the protocol worker).
Three readings, the largest wins: the sum of RSS over the command's process tree every
`interval_ms`; each process's own `VmHWM` as last read while it lived; and the kernel's
`ru_maxrss` of the command and its reaped children from `wait4`, when it can be trusted (it
carries this process's high-water mark across exec, so it is used only when larger than ours).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from session_store_harness.errors import HarnessError
from session_store_harness.measuring.processes import kill_group
from session_store_harness.measuring.sampler import kernel_peak_rss_bytes
from session_store_harness.model.run import MB
from session_store_harness.settings.memory_cases import MemoryCase

OUTPUT_TAIL_CHARS = 2000


@dataclass(frozen=True)
class CommandMeasurement:
    """One run of a command: how it ended and its peak memory (bytes)."""

    exit_code: int
    duration_s: float
    peak_tree_rss_bytes: int  # largest sampled sum of RSS over the process tree
    peak_process_hwm_bytes: int  # largest VmHWM of any one process in the tree
    ru_maxrss_bytes: int | None  # the kernel's own figure, when trustworthy
    processes_seen: int
    output_tail: str

    @property
    def peak_bytes(self) -> int:
        return max(self.peak_tree_rss_bytes, self.peak_process_hwm_bytes,
                   self.ru_maxrss_bytes or 0)


def measure_command(argv: list[str], interval_ms: float = 10.0, timeout_s: float = 600.0,
                    env: dict[str, str] | None = None) -> CommandMeasurement:
    """Run `argv` (no shell) to completion and measure it; a timeout kills the whole tree."""
    own_hwm = kernel_peak_rss_bytes(os.getpid()) or 0
    with tempfile.TemporaryFile() as output:
        try:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=output,
                                       stderr=subprocess.STDOUT, start_new_session=True,
                                       env=env)
        except FileNotFoundError:
            raise HarnessError(f"command not found: {argv[0]}") from None
        except PermissionError:
            raise HarnessError(f"command not executable: {argv[0]}") from None
        started = time.monotonic()
        tree_peak, hwm_by_pid, status, usage = _follow(process, interval_ms / 1000,
                                                       started + timeout_s)
        duration = time.monotonic() - started
        output.seek(0)
        tail = output.read()[-OUTPUT_TAIL_CHARS:].decode("utf-8", errors="replace")
    if status is None:
        raise HarnessError(f"{argv[0]}: did not finish within {timeout_s:g} s (killed)")
    ru_maxrss = usage.ru_maxrss * 1024  # Linux reports kilobytes
    return CommandMeasurement(
        exit_code=os.waitstatus_to_exitcode(status), duration_s=duration,
        peak_tree_rss_bytes=tree_peak, peak_process_hwm_bytes=max(hwm_by_pid.values(), default=0),
        ru_maxrss_bytes=ru_maxrss if ru_maxrss > own_hwm else None,
        processes_seen=len(hwm_by_pid), output_tail=tail)


def _follow(process: subprocess.Popen, interval_s: float, deadline: float):
    root = psutil.Process(process.pid)
    tree_peak, hwm_by_pid = 0, {}
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
            return tree_peak, hwm_by_pid, status, usage
        if time.monotonic() > deadline:
            kill_group(process)
            return tree_peak, hwm_by_pid, None, None
        tree_peak = max(tree_peak, _read_tree(root, hwm_by_pid))
        time.sleep(interval_s)


def _read_tree(root: psutil.Process, hwm_by_pid: dict[int, int]) -> int:
    try:
        members = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            continue  # exited between listing and reading
        hwm = kernel_peak_rss_bytes(member.pid)
        if hwm is not None:
            hwm_by_pid[member.pid] = max(hwm, hwm_by_pid.get(member.pid, 0))
    return total




def command_env(extra: dict[str, str] | None, home: Path | None) -> dict[str, str]:
    """The command's environment: ours, a throwaway HOME if asked, then the case's variables."""
    env = dict(os.environ)
    if home is not None:
        env["HOME"] = str(home)
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class CaseResult:
    """A memory case's runs so far and its verdict: the median peak against the limit."""

    case: MemoryCase
    runs: tuple[CommandMeasurement, ...]

    @property
    def failed_run(self) -> CommandMeasurement | None:
        return next((run for run in self.runs if run.exit_code != 0), None)

    @property
    def peak_mb(self) -> float:
        return statistics.median(run.peak_bytes / MB for run in self.runs)

    @property
    def passed(self) -> bool:
        return self.failed_run is None and self.peak_mb <= self.case.limit_mb


def check_case(case: MemoryCase, interval_ms: float, timeout_s: float,
               on_run: Callable[[CaseResult], None] | None = None) -> CaseResult:
    """Run the case `case.runs` times, each in a throwaway HOME unless it keeps the real one;
    a run that exits non-zero ends the case."""
    result = CaseResult(case, ())
    for _ in range(case.runs):
        with tempfile.TemporaryDirectory(prefix="harness-home-") as home:
            env = command_env(dict(case.env), Path(home) if case.throwaway_home else None)
            measured = measure_command(list(case.command), interval_ms, timeout_s, env)
        result = CaseResult(case, (*result.runs, measured))
        if on_run:
            on_run(result)
        if measured.exit_code != 0:
            break
    return result
