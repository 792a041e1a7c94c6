"""The noisy neighbour's lifecycle on real burner processes, found by the pids it recorded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from session_store_harness.errors import HarnessError
from session_store_harness.measuring.noise import NoiseConfig, noisy_neighbour
from tests.conftest import REPO, burner_running, gone_within

# serial: CPU burners beside other tests would slow them, and theirs would starve these
pytestmark = pytest.mark.serial


def test_burners_run_in_their_own_groups_and_are_killed_when_the_block_ends() -> None:
    # GIVEN a neighbour of one CPU and one memory burner of each kind
    with noisy_neighbour(NoiseConfig("cpu+memory", workers=1, block_mb=32)) as neighbour:
        burners = neighbour.burners
        pids = [b.pid for b in burners]
        # THEN they run, each leading its own process group, out of reach of our Ctrl-C
        assert [b.kind for b in burners] == ["cpu", "memory"]
        assert all(burner_running(pid) and os.getpgid(pid) == pid != os.getpgid(0) for pid in pids)
        cpu, memory = (psutil.Process(pid) for pid in pids)
        cpu.cpu_percent()
        peak = 0
        for _ in range(40):  # the memory burner churns its 32 MiB block, round after round
            peak = max(peak, memory.memory_info().rss)
            time.sleep(0.05)
        assert cpu.cpu_percent() > 10  # a busy loop, even on 2 busy shared cores
        assert peak > 32 * 1024 * 1024
        neighbour.check()  # both alive: nothing to report
    # WHEN the block ends THEN they are gone
    assert gone_within(pids, 1)


def test_burners_are_killed_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), noisy_neighbour(NoiseConfig("cpu", workers=2)) as n:
        pids = [b.pid for b in n.burners]
        raise RuntimeError("a trial failed")
    assert len(pids) == 2 and gone_within(pids, 1)


def test_no_noise_starts_nothing() -> None:
    with noisy_neighbour(NoiseConfig()) as neighbour:
        assert neighbour.burners == ()


def test_a_dead_burner_is_reported() -> None:
    with noisy_neighbour(NoiseConfig("memory", block_mb=8)) as neighbour:
        pid = neighbour.burners[0].pid
        os.kill(pid, signal.SIGKILL)
        assert gone_within([pid], 2)
        with pytest.raises(HarnessError, match=f"memory burner \\(pid {pid}\\) exited"):
            neighbour.check()


def test_burners_die_with_a_harness_that_is_sigkilled() -> None:
    # GIVEN a process holding a neighbour, which prints the burners' pids
    code = ("import time; from session_store_harness.measuring.noise import *\n"
            "with noisy_neighbour(NoiseConfig('cpu+memory', block_mb=8)) as n:\n"
            "    print(' '.join(str(b.pid) for b in n.burners), flush=True); time.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              cwd=REPO)
    try:
        pids = [int(pid) for pid in holder.stdout.readline().split()]
        assert len(pids) == 2 and all(burner_running(pid) for pid in pids)
        # WHEN it is SIGKILLed, so no `finally` of it runs
        holder.kill()
        holder.wait()
        # THEN the kernel kills the burners (PR_SET_PDEATHSIG)
        assert gone_within(pids, 5)
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


@pytest.mark.parametrize("kind", ["", "gpu"])
def test_unknown_noise_is_refused(kind: str) -> None:
    with pytest.raises(HarnessError, match="--noise must be one of"):
        NoiseConfig(kind)
