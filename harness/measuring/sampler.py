"""Background RSS sampling of the worker, from outside, with psutil."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psutil

from session_store_harness.model.run import TimelinePoint


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
