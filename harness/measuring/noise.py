"""A configurable noisy neighbour: burner processes running beside the measured workers.

`harness calibrate` measures the gate under the load it will meet on a shared CI runner; a quiet
machine gave 0 false fails in 50 A/A trials where a loaded one gave 1 in 5 (issue 9). The
burners (`worker/burner.py`) start before the first trial and are killed, with their process
groups, when the calibration ends, fails or is interrupted; if the harness itself is SIGKILLed
the kernel kills them (`PR_SET_PDEATHSIG`).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

from session_store_harness.errors import EXIT_FAILED, HarnessError
from session_store_harness.measuring.processes import child_env, kill_group, python_module
from session_store_harness.model.config import check_range

NOISE_KINDS = ("none", "cpu", "memory", "cpu+memory")
BURNER_MODULE = "session_store_harness.worker.burner"


@dataclass(frozen=True)
class NoiseConfig:
    """Which burners run: `workers` of each kind named in `kind`; `block_mb` per memory one."""

    kind: str = "none"
    workers: int = 1
    block_mb: int = 256

    def __post_init__(self) -> None:
        if self.kind not in NOISE_KINDS:
            raise HarnessError(f"--noise must be one of {', '.join(NOISE_KINDS)}, "
                               f"got {self.kind!r}")
        check_range("--noise-workers", self.workers, 1, 64)
        check_range("--noise-mb", self.block_mb, 1, 65536)

    @property
    def burner_kinds(self) -> tuple[str, ...]:
        return () if self.kind == "none" else tuple(self.kind.split("+"))


@dataclass(frozen=True)
class Burner:
    """One running burner: its kind and pid, which is also its process group's id."""

    kind: str
    pid: int


class Neighbour:
    """The running burners of one `NoiseConfig`."""

    def __init__(self, config: NoiseConfig) -> None:
        self.config = config
        self._processes: list[tuple[str, subprocess.Popen]] = []

    @property
    def burners(self) -> tuple[Burner, ...]:
        return tuple(Burner(kind, process.pid) for kind, process in self._processes)

    def start(self) -> None:
        for kind in self.config.burner_kinds:
            for _ in range(self.config.workers):
                self._processes.append((kind, subprocess.Popen(
                    burner_command(kind, self.config.block_mb), stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=child_env(),
                    start_new_session=True)))  # its own group: Ctrl-C reaches the harness only

    def check(self) -> None:
        """Fail when a burner has died (a memory burner refused its block, say): the trials
        after it would be measured under less noise than the calibration records."""
        for kind, process in self._processes:
            if process.poll() is not None:
                tail = process.stderr.read().decode(errors="replace").strip().splitlines()
                raise HarnessError(f"the {kind} burner (pid {process.pid}) exited with code "
                                   f"{process.returncode}" + (f": {tail[-1]}" if tail else ""),
                                   EXIT_FAILED)

    def stop(self) -> None:
        for _kind, process in self._processes:
            kill_group(process)
            process.stderr.close()


def burner_command(kind: str, block_mb: int) -> list[str]:
    return python_module(BURNER_MODULE, "--kind", kind, "--block-mb", str(block_mb),
                         "--parent", str(os.getpid()))


@contextlib.contextmanager
def noisy_neighbour(config: NoiseConfig) -> Iterator[Neighbour]:
    """The burners of `config`, running for the `with` block and killed however it ends."""
    neighbour = Neighbour(config)
    try:
        neighbour.start()
        yield neighbour
    finally:
        neighbour.stop()
