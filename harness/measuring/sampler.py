"""The worker's RSS read from outside: background sampling with psutil, and the kernel's
high-water mark, read and reset through /proc."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from session_store_harness.model.run import PEAK_LIFETIME, PEAK_PER_INTERVAL, TimelinePoint


class RssSampler(threading.Thread):
    """Reads the worker's RSS every `interval_ms` into a timeline until stopped."""

    def __init__(self, pid: int, interval_ms: float, started_at: float) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.process = psutil.Process(pid)
        self.interval_s = interval_ms / 1000
        self.started_at = started_at
        self.points: list[TimelinePoint] = []
        self.cycle = 0  # set by the runner as cycles complete
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                rss = self.process.memory_info().rss
            except psutil.Error:  # the worker has exited
                return
            if rss == 0:  # an exited, not yet reaped worker (a zombie) has no memory left
                return
            self.points.append(TimelinePoint((time.monotonic() - self.started_at) * 1000, rss,
                                             self.cycle))
            self._stop_event.wait(self.interval_s)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def kernel_peak_rss_bytes(pid: int) -> int | None:
    """The process's own high-water mark (`VmHWM`), which only the kernel knows exactly.

    Not `ru_maxrss` of the child: on Linux it carries the parent's high-water mark across
    exec, so a parent that imported pandas would inflate it (proc(5), getrusage(2)).
    """
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return None


# proc(5): writing 5 to /proc/PID/clear_refs resets the process's high-water mark (VmHWM) to its
# current RSS (Linux >= 4.0); only its owner (or root) may write it.
RESET_HIGH_WATER_MARK = b"5"


def clear_refs_path(pid: int) -> Path:
    return Path(f"/proc/{pid}/clear_refs")


def reset_kernel_peak(clear_refs: Path) -> str | None:
    """Reset a process's `VmHWM` through its `clear_refs` file; None when done, else why not.

    It fails where there is no /proc (not Linux), where the file may not be written (EACCES,
    EPERM: another user's process, a hardened /proc) and on kernels before 4.0 (EINVAL).
    """
    try:  # neither created nor truncated: only a file that is there is written
        fd = os.open(clear_refs, os.O_WRONLY)
        try:
            os.write(fd, RESET_HIGH_WATER_MARK)
        finally:
            os.close(fd)
    except OSError as exc:
        return f"cannot reset the kernel's peak through {clear_refs}: {exc.strerror or exc}"
    return None


@dataclass
class KernelPeaks:
    """The worker's kernel high-water mark, read and reset at each sample.

    The worker is blocked on the sample's ack, so nothing moves between the reading and the
    reset: the mark read at the next sample is the peak of exactly the cycles in between.
    Whether it can be reset is settled at sample 0; where it cannot, the lifetime mark is read
    at `done` only, as before. A reset that fails later (it cannot, short of /proc changing
    under a live process) leaves the rest of the run to the mark read at `done`.
    """

    pid: int
    clear_refs: Path
    method: str | None = None  # PEAK_PER_INTERVAL or PEAK_LIFETIME once sample 0 is taken
    reset_error: str | None = None

    def at_sample(self) -> int | None:
        """The kernel's peak since the previous sample (since start at sample 0), then reset;
        None where the mark is not being reset."""
        if self.reset_error is not None:
            return None
        peak = kernel_peak_rss_bytes(self.pid)
        self.reset_error = reset_kernel_peak(self.clear_refs)
        if self.method is None:
            self.method = PEAK_LIFETIME if self.reset_error else PEAK_PER_INTERVAL
        return None if self.method == PEAK_LIFETIME else peak
