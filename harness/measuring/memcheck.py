"""Peak memory of any command and its whole process tree, measured from outside.

The second place that starts processes (the first, `runner.py`, drives the protocol worker).
Up to three readings, the largest wins and names the method in the output:

- `cgroup memory.peak`: where our own cgroup v2 already delegates the memory controller, the
  command runs in a fresh child cgroup whose `memory.peak` is "the max memory usage recorded
  for the cgroup and its descendants since the creation of the cgroup" (cgroup-v2.rst). It
  counts what the kernel charges (anonymous memory, page cache the command first touched,
  kernel stacks and page tables), not shared pages another cgroup brought in first.
- `rusage of reaped tree`: a small launcher (`LAUNCHER`, `python -I -S`, stdlib only) forks the
  command, makes itself the child subreaper (prctl(2) PR_SET_CHILD_SUBREAPER) so every orphan
  is reparented to it, reaps every descendant and reports `getrusage(RUSAGE_CHILDREN)`. Its
  `ru_maxrss` is "the resident set size of the largest child, not the maximum resident set size
  of the process tree" (getrusage(2)): every process's own exact peak, short-lived ones too.
- `sampled`: the sum of RSS over the process tree every `interval_ms`, and each process's own
  `VmHWM` (proc(5)) as last read while it lived: the only reading of processes that run at the
  same time (the kernel's figure is per process).

Why a launcher: `execve` folds the old address space's high-water mark into the new image's
`ru_maxrss` (fs/exec.c `exec_mmap()`: `setmax_mm_hiwater_rss(&tsk->signal->maxrss, old_mm)`,
and "resource usage metrics are preserved across an execve(2)", getrusage(2)), and a child's
address space starts as a copy of its parent's. Spawned from this process (psutil, click and
whatever the caller imported: tens of MB), a 2 MB command reports our tens of MB, which is why
the kernel figure used to be thrown away whenever it was below our own mark. Forked with
`os.fork` (a copy of the page tables actually in use, not `vfork`, which would pass on the whole
parent's mark) from a launcher that has imported next to nothing, the command inherits about
5 MB; the launcher measures that floor in the child just before `execve`. A kernel figure above
the floor is the command's own; one at or below it is reported as an upper bound ("at most").
"""

from __future__ import annotations

import errno
import itertools
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

from session_store_harness.errors import EXIT_FAILED, EXIT_INTERRUPTED, HarnessError
from session_store_harness.measuring.sampler import kernel_peak_rss_bytes
from session_store_harness.model.run import MB
from session_store_harness.settings.memory_cases import MemoryCase

OUTPUT_TAIL_CHARS = 2000
CGROUP = "cgroup memory.peak"
RUSAGE = "rusage of reaped tree"
SAMPLED = "sampled"
LAUNCHER_GRACE_S = 10.0  # after SIGTERM, the launcher's time to kill, reap and report
FLOOR_SLACK_BYTES = 64 * 1024

LAUNCHER = Path(__file__).with_name("launcher.py")  # run as a script, see its docstring


@dataclass(frozen=True)
class CommandMeasurement:
    """One run of a command: how it ended and its peak memory (bytes) by each method."""

    exit_code: int
    duration_s: float
    peak_tree_rss_bytes: int  # largest sampled sum of RSS over the process tree
    peak_process_hwm_bytes: int  # largest VmHWM of any one process, read while it lived
    ru_maxrss_bytes: int | None  # the kernel's largest process peak over the reaped tree
    processes_seen: int
    output_tail: str
    launcher_floor_bytes: int = 0  # what the command inherited: ru_maxrss never reads below it
    cgroup_peak_bytes: int | None = None  # the run's own cgroup's memory.peak, where one exists
    left_behind: int = 0  # processes still there when the command ended: counted, then killed
    # why the cgroup's own peak counter did not measure this run (None: it did)
    cgroup_unused: str | None = None

    def readings(self) -> dict[str, int]:
        """Each method's figure, in the order a tie is credited."""
        return {CGROUP: self.cgroup_peak_bytes or 0, RUSAGE: self.ru_maxrss_bytes or 0,
                SAMPLED: max(self.peak_tree_rss_bytes, self.peak_process_hwm_bytes)}

    @property
    def peak_bytes(self) -> int:
        return max(self.readings().values())

    @property
    def method(self) -> str:
        readings = self.readings()
        return max(readings, key=lambda name: readings[name])

    @property
    def measured(self) -> bool:
        """False when no method read anything: such a run must never pass."""
        return self.peak_bytes > 0

    @property
    def upper_bound(self) -> bool:
        """The peak is the kernel's figure at the launcher's floor: the command used that much
        or less, so its own figure cannot be told. The floor is read a few steps before
        `execve`; the pages those steps touch are the slack."""
        return (self.method == RUSAGE
                and self.peak_bytes <= self.launcher_floor_bytes + FLOOR_SLACK_BYTES)


@dataclass(frozen=True)
class _Sampled:
    tree_peak: int
    hwm_by_pid: dict[int, int]
    timed_out: bool


def measure_command(argv: list[str], interval_ms: float = 10.0, timeout_s: float = 600.0,
                    env: dict[str, str] | None = None) -> CommandMeasurement:
    """Run `argv` (no shell) to completion and measure it; whatever it leaves running is killed,
    and so is everything on a timeout."""
    env = dict(os.environ) if env is None else env
    cgroup, cgroup_unused = _make_cgroup()
    try:
        with tempfile.TemporaryFile() as output, tempfile.TemporaryFile() as report_file:
            started = time.monotonic()
            launcher = _start_launcher(argv, env, output, report_file, cgroup)
            sampled = _follow(launcher, interval_ms / 1000, started + timeout_s)
            wall_s = time.monotonic() - started
            report_file.seek(0)
            report = _parse_report(report_file.read())
            output.seek(0)
            tail = output.read()[-OUTPUT_TAIL_CHARS:].decode("utf-8", errors="replace")
        cgroup_peak = _cgroup_peak(cgroup) if cgroup and "cgroup_error" not in report else None
        if cgroup is not None and cgroup_peak is None:
            cgroup_unused = _cgroup_failure(report)
    finally:
        if cgroup is not None:
            _remove_cgroup(cgroup)
    _raise_for(argv, report, launcher.returncode, tail, timeout_s if sampled.timed_out else None)
    reaped = {int(pid) for pid in report["reaped"].split(",") if pid}
    return CommandMeasurement(
        exit_code=os.waitstatus_to_exitcode(int(report["status"])),
        duration_s=int(report["duration_ns"]) / 1e9 if "duration_ns" in report else wall_s,
        peak_tree_rss_bytes=sampled.tree_peak,
        peak_process_hwm_bytes=max(sampled.hwm_by_pid.values(), default=0),
        ru_maxrss_bytes=int(report["maxrss_kb"]) * 1024,  # Linux reports kilobytes
        processes_seen=len(reaped | set(sampled.hwm_by_pid)), output_tail=tail,
        launcher_floor_bytes=int(report.get("floor_kb", 0)) * 1024, cgroup_peak_bytes=cgroup_peak,
        left_behind=int(report.get("left_behind", 0)), cgroup_unused=cgroup_unused or None)


def _cgroup_failure(report: dict[str, str]) -> str:
    """Why a cgroup made for the run has no figure: the launcher could not move the command
    into it, or its memory.peak could not be read."""
    if "cgroup_error" in report:
        code = report["cgroup_error"]
        detail = os.strerror(int(code)) if code.isdigit() else code
        return f"the command could not be moved into its cgroup ({detail})"
    return "the run's cgroup memory.peak could not be read"


def _start_launcher(argv: list[str], env: dict[str, str], output, report_file,
                    cgroup: Path | None) -> subprocess.Popen:
    """The launcher shares our process group, so Ctrl-C reaches it and it cleans up; the
    command gets a session of its own."""
    if not sys.executable:
        raise HarnessError("check-memory needs the path of this Python to start its launcher")
    launcher = subprocess.Popen([sys.executable, "-I", "-S", str(LAUNCHER)],
                                stdin=subprocess.PIPE, stdout=output, stderr=subprocess.STDOUT,
                                pass_fds=(report_file.fileno(),))
    procs = str(cgroup / "cgroup.procs") if cgroup else ""
    fields = [str(os.getpid()), str(report_file.fileno()), procs, str(len(argv)), *argv,
              *(f"{key}={value}" for key, value in env.items())]
    try:
        launcher.stdin.write(b"\0".join(os.fsencode(field) for field in fields))
        launcher.stdin.close()
    except BrokenPipeError:
        pass  # it died at once: no report, said below
    return launcher


def _follow(launcher: subprocess.Popen, interval_s: float, deadline: float) -> _Sampled:
    """Sample the launcher's descendants (not the launcher) until it has reaped them all; at the
    deadline, or on any error here, tell it to kill everything and wait for its report."""
    root = psutil.Process(launcher.pid)
    tree_peak, hwm_by_pid = 0, {}
    try:
        while launcher.poll() is None and time.monotonic() <= deadline:
            tree_peak = max(tree_peak, _read_tree(root, launcher.args, hwm_by_pid))
            time.sleep(interval_s)
    finally:
        still_running = launcher.poll() is None
        if still_running:
            _stop(launcher, root)
    return _Sampled(tree_peak, hwm_by_pid, timed_out=still_running)


def _stop(launcher: subprocess.Popen, root: psutil.Process) -> None:
    """SIGTERM: the launcher kills and reaps the whole tree, then reports. If it does not, kill
    what is left of the tree ourselves."""
    launcher.send_signal(signal.SIGTERM)
    try:
        launcher.wait(LAUNCHER_GRACE_S)
    except subprocess.TimeoutExpired:
        for member in _descendants(root):
            try:
                member.kill()
            except psutil.Error:
                pass
        launcher.kill()
        launcher.wait()


def _descendants(root: psutil.Process) -> list[psutil.Process]:
    try:
        return root.children(recursive=True)
    except psutil.Error:
        return []


def _read_tree(root: psutil.Process, launcher_argv: list[str],
               hwm_by_pid: dict[int, int]) -> int:
    """The sum of RSS over the launcher's descendants. The command before its `execve` is
    still a copy of the launcher (same command line): its pages are the launcher's, skipped.
    The command line is read first: once it differs, the memory read next is the command's."""
    total = 0
    for member in _descendants(root):
        try:
            if member.cmdline() == launcher_argv:
                continue
            total += member.memory_info().rss
        except psutil.Error:
            continue  # exited between listing and reading
        hwm = kernel_peak_rss_bytes(member.pid)
        if hwm is not None:
            hwm_by_pid[member.pid] = max(hwm, hwm_by_pid.get(member.pid, 0))
    return total


def _parse_report(data: bytes) -> dict[str, str]:
    lines = data.decode("utf-8", errors="replace").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def _raise_for(argv: list[str], report: dict[str, str], launcher_code: int | None, tail: str,
               timed_out_after: float | None) -> None:
    """A run that did not end with a status and a kernel figure is an error, never a pass."""
    if "exec_errno" in report:
        raise HarnessError(_exec_error(argv[0], int(report["exec_errno"])))
    if "child_error" in report:
        raise HarnessError(f"check-memory's launcher failed before starting {argv[0]}",
                           EXIT_FAILED)
    if "setup_error" in report:
        raise HarnessError(f"check-memory cannot watch {argv[0]}: {report['setup_error']}",
                           EXIT_FAILED)
    if timed_out_after is not None:
        raise HarnessError(f"{argv[0]}: did not finish within {timed_out_after:g} s (killed)",
                           EXIT_FAILED)
    if "stopped" in report:  # Ctrl-C or a signal to the launcher: the tree is gone, unjudged
        raise HarnessError(f"{argv[0]}: stopped by signal {report['stopped']} before it "
                           f"finished (killed, not judged)", EXIT_INTERRUPTED)
    if "status" not in report or "maxrss_kb" not in report:
        last = tail.strip().splitlines()[-1:] or ["no output"]
        raise HarnessError(f"{argv[0]}: nothing was measured: the launcher ended with code "
                           f"{launcher_code} and no report ({last[0]})", EXIT_FAILED)


def _exec_error(program: str, code: int) -> str:
    if code == errno.ENOENT:
        return f"command not found: {program}"
    if code in (errno.EACCES, errno.EPERM):
        return f"command not executable: {program}"
    if code == errno.ENOEXEC:
        return (f"{program}: not a program this system can run (exec format error; "
                f"a script needs a #! line)")
    return f"cannot run {program}: {os.strerror(code)}"


# --- cgroup v2: only where our own cgroup already hands the memory controller to children ----

_CGROUP_NAMES = itertools.count()


def _make_cgroup() -> tuple[Path | None, str]:
    """A fresh child of our own cgroup with `memory.peak`, or None and why not: no cgroup v2
    mount, memory not delegated (its `cgroup.subtree_control` lacks it, and a cgroup with
    processes cannot enable it: the "no internal process" rule, cgroup-v2.rst), not writable,
    or a kernel before 5.19 (no memory.peak). We never change a controller setting ourselves."""
    base = _own_cgroup_v2()
    if base is None:
        return None, "this process is in no cgroup v2 hierarchy (cgroup v1, or none mounted)"
    try:
        if "memory" not in (base / "cgroup.subtree_control").read_text().split():
            return None, (f"our cgroup {base} does not delegate the memory controller to "
                          f"child cgroups")
        path = base / f"harness-memcheck-{os.getpid()}-{next(_CGROUP_NAMES)}"
        path.mkdir()
    except OSError as exc:
        return None, f"cannot create a child cgroup in {base} ({exc.strerror or exc})"
    if not (path / "memory.peak").exists():
        _remove_cgroup(path)
        return None, "this kernel has no memory.peak (Linux 5.19 or later has)"
    return path, ""


def _own_cgroup_v2() -> Path | None:
    """Our cgroup's folder: the cgroup2 mount (proc(5) mountinfo) joined with the `0::` line
    of /proc/self/cgroup, relative to the mount's own root."""
    try:
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
        groups = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    own = next((line[3:] for line in groups if line.startswith("0::")), None)
    for fields in (line.split() for line in mounts):
        if own is not None and "-" in fields and fields[fields.index("-") + 1] == "cgroup2":
            root, mount_point = fields[3], fields[4]
            if own == root or own.startswith(root.rstrip("/") + "/"):
                return Path(mount_point, own[len(root.rstrip("/")):].lstrip("/"))
    return None


def _cgroup_peak(path: Path) -> int | None:
    try:
        return int((path / "memory.peak").read_text())
    except (OSError, ValueError):
        return None


def _remove_cgroup(path: Path) -> None:
    """Kill anything still in it (cgroup.kill, Linux 5.14), wait until it is empty, remove it."""
    try:
        (path / "cgroup.kill").write_text("1")
    except OSError:
        pass
    for _ in _until(1.0):
        try:
            if "populated 0" in (path / "cgroup.events").read_text():
                break
        except OSError:
            break
    try:
        path.rmdir()
    except OSError:
        pass


def _until(seconds: float, step: float = 0.01) -> Iterator[None]:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        yield
        time.sleep(step)


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
    def unmeasured_run(self) -> int | None:
        """The number (from 1) of the first run no method measured."""
        return next((n for n, run in enumerate(self.runs, 1) if not run.measured), None)

    @property
    def peak_mb(self) -> float:
        return statistics.median(run.peak_bytes / MB for run in self.runs)

    @property
    def methods(self) -> str:
        """The method that gave each run's peak, once each (" / " between them)."""
        return " / ".join(dict.fromkeys(run.method for run in self.runs if run.measured))

    @property
    def cgroup_unused(self) -> str | None:
        """Why the cgroup's own peak counter measured no run of the case, if it did not."""
        return next((run.cgroup_unused for run in self.runs if run.cgroup_unused), None)

    @property
    def over_limit(self) -> bool:
        """Measured, ran fine, and over the limit (not a run that failed)."""
        return (self.failed_run is None and self.unmeasured_run is None
                and self.peak_mb > self.case.limit_mb)

    @property
    def passed(self) -> bool:
        return (self.failed_run is None and self.unmeasured_run is None
                and self.peak_mb <= self.case.limit_mb)


def check_case(case: MemoryCase, interval_ms: float, timeout_s: float,
               on_run: Callable[[CaseResult], None] | None = None) -> CaseResult:
    """Run the case `case.runs` times, each in a throwaway HOME unless it keeps the real one;
    a run that exits non-zero, or that nothing measured, ends the case."""
    result = CaseResult(case, ())
    for _ in range(case.runs):
        with tempfile.TemporaryDirectory(prefix="harness-home-") as home:
            env = command_env(dict(case.env), Path(home) if case.throwaway_home else None)
            measured = measure_command(list(case.command), interval_ms, timeout_s, env)
        result = CaseResult(case, (*result.runs, measured))
        if on_run:
            on_run(result)
        if measured.exit_code != 0 or not measured.measured:
            break
    return result
