"""`harness check-memory` measures every process exactly, short-lived and left-behind ones too,
kills what a command leaves running, and never passes a run it did not measure."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from session_store_harness.errors import HarnessError
from session_store_harness.measuring.memcheck import (
    RUSAGE,
    CaseResult,
    CommandMeasurement,
    _make_cgroup,
    _remove_cgroup,
    measure_command,
)
from session_store_harness.model.run import MB
from session_store_harness.settings.memory_cases import MemoryCase
from session_store_harness.writers.memory_text import run_line, verdict_line
from tests.conftest import run_cli

# Pure Python (no C extension of its own): touches N MiB, prints its own kernel peak (VmHWM,
# kB) as the truth, and exits at once: too fast for any sampling to see the peak.
SHORT_ALLOCATOR = """
import sys
from pathlib import Path
blob = b"\\x01" * (int(sys.argv[1]) * 1024 * 1024)
status = Path("/proc/self/status").read_text()
print(next(l.split()[1] for l in status.splitlines() if l.startswith("VmHWM:")))
"""

# Starts a child in a session of its own (setsid) that touches N MiB, writes its pid, and
# would sleep for a minute; the parent exits as soon as the pid file is there.
LEAVES_A_SETSID_CHILD = """
import os, subprocess, sys, time
mb, pid_file = int(sys.argv[1]), sys.argv[2]
child = f'''
import os, time
blob = b"\\\\x01" * ({mb} * 1024 * 1024)
with open({pid_file!r} + ".tmp", "w") as out:
    out.write(str(os.getpid()))
os.rename({pid_file!r} + ".tmp", {pid_file!r})
time.sleep(60)
'''
subprocess.Popen([sys.executable, "-c", child], start_new_session=True)
while not os.path.exists(pid_file):
    time.sleep(0.01)
if len(sys.argv) > 3:  # stay, to be killed by the timeout
    time.sleep(60)
"""


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("scripts")
    (folder / "short.py").write_text(SHORT_ALLOCATOR)
    (folder / "leaves.py").write_text(LEAVES_A_SETSID_CHILD)
    return folder


def _running(pid: int, marker: str) -> bool:
    """Whether `pid` is still the process we started (a reused pid runs something else)."""
    try:
        return marker in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def test_true_is_never_a_zero_pass_at_a_tiny_limit() -> None:
    result = run_cli("check-memory", "--limit-mb", "0.001", "--", "true")
    assert result.returncode == 1, result.stdout + result.stderr
    run = result.stdout.splitlines()[0]
    assert "by rusage of reaped tree" in run and "(1 process(es)" in run, run
    assert "0.0 MB" not in result.stdout
    assert result.stdout.splitlines()[-1].endswith("(limit 0.001 MB) FAIL")


def test_a_short_lived_allocation_is_measured_within_10_percent_in_5_of_5_runs(
        scripts: Path) -> None:
    for _ in range(5):
        measured = measure_command([sys.executable, str(scripts / "short.py"), "25"])
        truth = int(measured.output_tail.split()[-1]) * 1024
        assert measured.exit_code == 0
        assert abs(measured.peak_bytes - truth) < 0.10 * truth, (measured, truth)
        assert not measured.upper_bound


@pytest.mark.skipif(shutil.which("dd") is None, reason="no dd")
def test_dd_with_a_20_mb_buffer_is_measured_at_20_mb_or_more() -> None:
    result = run_cli("check-memory", "--limit-mb", "10", "--", "dd", "if=/dev/zero",
                     "of=/dev/null", "bs=20M", "count=1")
    assert result.returncode == 1, result.stdout + result.stderr
    figure = float(result.stdout.split("run 1/1: ")[1].split(" MB")[0])
    assert figure >= 20, result.stdout
    assert "by rusage of reaped tree" in result.stdout


def test_a_setsid_child_left_behind_is_counted_and_killed(scripts: Path, tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    measured = measure_command([sys.executable, str(scripts / "leaves.py"), "150",
                                str(pid_file)])
    pid = int(pid_file.read_text())
    assert measured.exit_code == 0
    assert measured.peak_bytes >= 150 * MB
    assert measured.ru_maxrss_bytes is not None and measured.ru_maxrss_bytes >= 150 * MB
    assert measured.processes_seen >= 2 and measured.left_behind == 1
    assert not _running(pid, str(pid_file))


def test_a_timeout_kills_the_setsid_child_too(scripts: Path, tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    started = time.monotonic()
    with pytest.raises(HarnessError, match="did not finish within 2 s"):
        measure_command([sys.executable, str(scripts / "leaves.py"), "5", str(pid_file),
                         "stay"], timeout_s=2)
    assert time.monotonic() - started < 15
    assert not _running(int(pid_file.read_text()), str(pid_file))


def test_a_file_that_is_no_program_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "not-an-elf").write_text("just some text\n")
    (tmp_path / "not-an-elf").chmod(0o755)
    result = subprocess.run([sys.executable, "-m", "session_store_harness.cli", "check-memory",
                             "--limit-mb", "10", "--", "./not-an-elf"], capture_output=True,
                            text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "harness: error: ./not-an-elf: not a program this system can run (exec format error; "
        "a script needs a #! line)"]
    assert result.stdout == ""


def test_a_run_nothing_measured_never_passes() -> None:
    case = MemoryCase("quiet", ("true",), 100.0, 1)
    nothing = CommandMeasurement(exit_code=0, duration_s=0.01, peak_tree_rss_bytes=0,
                                 peak_process_hwm_bytes=0, ru_maxrss_bytes=None,
                                 processes_seen=0, output_tail="")
    result = CaseResult(case, (nothing,))
    assert not result.passed
    assert verdict_line(result) == ("[memory] quiet: run 1 was not measured (no kernel figure, "
                                    "no sample): refusing to pass")
    assert "nothing measured" in run_line(result)


def test_the_run_line_names_the_method_and_an_upper_bound() -> None:
    case = MemoryCase("tiny", ("true",), 100.0, 1)
    at_floor = CommandMeasurement(exit_code=0, duration_s=0.0, peak_tree_rss_bytes=0,
                                  peak_process_hwm_bytes=0, ru_maxrss_bytes=6 * MB,
                                  processes_seen=1, output_tail="",
                                  launcher_floor_bytes=6 * MB)
    assert at_floor.method == RUSAGE and at_floor.upper_bound
    assert run_line(CaseResult(case, (at_floor,))).startswith(
        "[memory] tiny run 1/1: at most 6.0 MB by rusage of reaped tree")


def test_cgroup_memory_peak_where_the_machine_delegates_it() -> None:
    probe, why_not = _make_cgroup()
    if probe is None:
        pytest.skip(f"no cgroup memory.peak here: {why_not}")
    _remove_cgroup(probe)
    measured = measure_command([sys.executable, "-c", "b = b'x' * (60 << 20)"])
    assert measured.cgroup_peak_bytes is not None and measured.cgroup_peak_bytes >= 60 * MB
