"""A noisy neighbour for `harness calibrate`: burns CPU or churns memory until killed.

Run as `python -P -m session_store_harness.worker.burner --kind cpu|memory --parent PID` by
`measuring/noise.py`. Standard library only. Shared CI runners have neighbours like these; a
gate calibrated without them promises a false-fail rate it will not keep there.

- `cpu`: a busy loop, one core's worth of run-queue competition for the measured workers.
- `memory`: allocates a block of `--block-mb` MiB, writes every byte (each page faults in, the
  kernel zeroes it, then the fill streams through the caches), and frees it, over and over:
  page-fault and memory-bandwidth churn. A block this large comes from `mmap` and goes back to
  the kernel on free (glibc's mmap threshold is at most 32 MiB), so every round faults afresh.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from session_store_harness.worker.cycles import PR_SET_PDEATHSIG
from session_store_harness.worker.heap import libc

KINDS = ("cpu", "memory")
SPINS_PER_CHECK = 1_000_000  # busy-loop steps between checks that the harness is still there


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m session_store_harness.worker.burner")
    parser.add_argument("--kind", choices=KINDS, required=True)
    parser.add_argument("--block-mb", type=int, default=256)
    parser.add_argument("--parent", type=int, required=True, help="the harness's pid")
    return parser.parse_args(argv)


def die_with_parent(parent: int) -> bool:
    """Have the kernel SIGKILL this burner when the harness exits, however it exits (SIGKILL
    and the OOM killer included: no `finally` of the harness runs then). True when the kernel
    watches; the check after the call covers a harness gone before it."""
    prctl = getattr(libc(), "prctl", None)  # Linux only
    watched = prctl is not None and prctl(PR_SET_PDEATHSIG, signal.SIGKILL) == 0
    if os.getppid() != parent:
        raise SystemExit(0)
    return watched


def burn_cpu(parent_alive) -> None:
    while parent_alive():
        for _ in range(SPINS_PER_CHECK):
            pass


def churn_memory(block_mb: int, parent_alive) -> None:
    size = block_mb * 1024 * 1024
    while parent_alive():
        block = b"\xa5" * size  # one memset over fresh pages: every page touched
        del block


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    watched = die_with_parent(args.parent)
    # without the kernel's watch, poll: a burner must never outlive the calibration
    parent_alive = (lambda: True) if watched else (lambda: os.getppid() == args.parent)
    if args.kind == "cpu":
        burn_cpu(parent_alive)
    else:
        churn_memory(args.block_mb, parent_alive)
    return 0


if __name__ == "__main__":
    sys.exit(main())
