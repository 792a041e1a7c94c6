"""Heap figures the worker takes of itself. Standard library only (ctypes for glibc).

`allocator` (default, cheap): heap = bytes in pymalloc blocks in use + glibc malloc in-use bytes
(`mallinfo2().uordblks + hblkhd`); external = memory the allocators hold but have not handed out
(pymalloc arena bytes not in blocks + glibc free chunks `fordblks`). `tracemalloc` (opt-in,
5.9-6.5x slower per cycle on `wholefile` at 7600 KB, measured): heap = tracemalloc's traced
current size; external as above; and a heap peak: the traced peak since the previous sample.
Heap figures are resting figures, taken between cycles; only the traced peak sees inside them.
"""

from __future__ import annotations

import ctypes
import functools
import os
import re
import sys
from collections.abc import Callable

_ALLOCATED = re.compile(rb"^# bytes in allocated blocks\s*=\s*([\d,]+)", re.M)
_ARENAS = re.compile(rb"^\d+ arenas \* \d+ bytes/arena\s*=\s*([\d,]+)", re.M)


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


@functools.cache
def libc() -> ctypes.CDLL:
    """The C library the interpreter already links, found without `find_library`, which runs
    `ldconfig` in a child process: the worker must start nothing while it is measured."""
    return ctypes.CDLL(None)


def _mallinfo2() -> Callable[[], _Mallinfo2] | None:
    function = getattr(libc(), "mallinfo2", None)  # glibc >= 2.33 only
    if function is not None:
        function.restype = _Mallinfo2
    return function


class AllocatorMeter:
    """Reads pymalloc's and glibc's own accounting: no tracing, about 0.2 ms a reading."""

    name = "allocator"

    def __init__(self) -> None:
        self.mallinfo2 = _mallinfo2()
        # An anonymous in-memory file: no tempfile module (and its imports) in the worker.
        self._scratch_fd = os.memfd_create("harness-mallocstats")

    def read(self) -> tuple[int, int]:
        """(heap_bytes, external_bytes) right now."""
        in_blocks, arena_bytes = self._pymalloc()
        malloc_used = malloc_free = 0
        if self.mallinfo2 is not None:
            info = self.mallinfo2()
            malloc_used, malloc_free = info.uordblks + info.hblkhd, info.fordblks
        return self._heap(in_blocks, malloc_used), arena_bytes - in_blocks + malloc_free

    def peak(self) -> int | None:
        """The heap's peak since the previous call; None: the allocators keep no cheap one."""
        return None

    def close(self) -> None:
        os.close(self._scratch_fd)

    def _heap(self, in_blocks: int, malloc_used: int) -> int:
        return in_blocks + malloc_used

    def _pymalloc(self) -> tuple[int, int]:
        # sys._debugmallocstats() only prints, to the C-level stderr: point fd 2 at a scratch
        # file for the call. Under PYTHONMALLOC=malloc it prints nothing and both are 0.
        fd = self._scratch_fd
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(fd, 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        os.lseek(fd, 0, os.SEEK_SET)
        report = os.read(fd, 1 << 20)
        return _figure(_ALLOCATED, report), _figure(_ARENAS, report)


class TracemallocMeter(AllocatorMeter):
    """Exact traced heap; starts tracing at construction, before the store is loaded."""

    name = "tracemalloc"

    def __init__(self) -> None:
        super().__init__()
        import tracemalloc  # only here: its imports would otherwise sit in every worker

        self._traced = tracemalloc.get_traced_memory
        self._reset_peak = tracemalloc.reset_peak
        tracemalloc.start()

    def peak(self) -> int | None:
        """The traced peak since the previous call (since tracing began, at the first), which
        then starts again from the current size: the transient heap inside the cycles."""
        peak = self._traced()[1]
        self._reset_peak()
        return peak

    def _heap(self, in_blocks: int, malloc_used: int) -> int:
        return self._traced()[0]


def _figure(pattern: re.Pattern[bytes], report: bytes) -> int:
    match = pattern.search(report)
    return int(match.group(1).replace(b",", b"")) if match else 0


METERS = {meter.name: meter for meter in (AllocatorMeter, TracemallocMeter)}
