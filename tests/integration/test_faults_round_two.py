"""The harness under faults, round two: signals, a killed parent, memory limits, full and
read-only file systems, and malformed inputs. Real processes and real file systems throughout:
tmpfs mounts (root only; skipped otherwise) stand in for full and read-only disks."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from session_store_harness.errors import HarnessError
from session_store_harness.generating.generator import GenerateSpec, generate
from session_store_harness.measuring.runner import run_repeats
from session_store_harness.measuring.storefile import file_sha256
from session_store_harness.model.config import RunConfig
from session_store_harness.model.result_folder import load_run
from session_store_harness.model.run import StoreInfo
from tests.conftest import REPO, assert_one_line_error, run_cli

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
QUICK_RUN = ("run", "--repeat", "1", "--store", "wholefile", "--target-kb", "50",
             "--cycles", "3", "--sample-every", "1")
LONG_RUN = ("run", "--repeat", "1", "--store", "wholefile", "--target-kb", "1500",
            "--cycles", "100000", "--sample-every", "1")
WORKER_MARKS = ("session_store_harness.worker", "worker.mjs")


# ---- helpers ---------------------------------------------------------------------------------

def user_env(tmpdir: Path, **extra: str) -> dict[str, str]:
    """The environment of a user who set no numeric thread counts, with their own TMPDIR."""
    tmpdir.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    return {**env, "TMPDIR": str(tmpdir), **extra}


@contextlib.contextmanager
def started_cli(*args: str, env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """`harness ARGS...` as a child of this test, killed at the end if a failed test left it
    running."""
    harness = subprocess.Popen([sys.executable, "-m", "session_store_harness.cli", *args],
                               cwd=REPO, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        yield harness
    finally:
        if harness.poll() is None:
            harness.kill()
        harness.communicate()


@pytest.fixture
def worker_groups() -> Iterator[list[int]]:
    """Process groups of the workers a test found; any still alive at its end are killed."""
    groups: list[int] = []
    yield groups
    for group in groups:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)


def find_worker(harness: subprocess.Popen[str], groups: list[int],
                settle_s: float = 1.5) -> psutil.Process:
    """The worker the harness started (looked up among its own children), once it has been
    running for `settle_s`; its process group (its own session) is recorded in `groups`."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        workers = [child for child in psutil.Process(harness.pid).children(recursive=True)
                   if _is_worker(child)]
        if workers:
            groups.append(os.getpgid(workers[0].pid))
            time.sleep(settle_s)
            return workers[0]
        if harness.poll() is not None:
            raise AssertionError(f"harness exited early: {harness.communicate()[1]}")
        time.sleep(0.05)
    raise AssertionError("worker never started")


def _is_worker(process: psutil.Process) -> bool:
    try:
        command = " ".join(process.cmdline())
    except psutil.Error:  # exited (or not yet exec'd) between listing and reading
        return False
    return any(mark in command for mark in WORKER_MARKS)


def has_exited(process: psutil.Process) -> bool:
    """Gone, or a zombie: an orphan exits to init, which may be slow to reap it."""
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_until_exited(process: psutil.Process, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if has_exited(process):
            return True
        time.sleep(0.05)
    return has_exited(process)


def scratch_left(tmpdir: Path) -> list[Path]:
    return sorted(tmpdir.glob("harness-*"))


@contextlib.contextmanager
def tmpfs(mount_point: Path, size: str) -> Iterator[Path]:
    """A small tmpfs at `mount_point`, unmounted afterwards; skips the test where one cannot
    be mounted (not root, no mount command, a container without CAP_SYS_ADMIN)."""
    if shutil.which("mount") is None:
        pytest.skip("no mount command to make a small file system with")
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs",
                              str(mount_point)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def remount_read_only(mount_point: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(mount_point)], check=True)


def fill(mount_point: Path, leave_bytes: int) -> None:
    """Fill a file system but for about `leave_bytes`."""
    free = shutil.disk_usage(mount_point).free
    (mount_point / "filler").write_bytes(b"\0" * max(0, free - leave_bytes))


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


# ---- 1. SIGTERM, SIGHUP, and a parent killed outright ----------------------------------------

@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_sigterm_and_sighup_end_a_run_as_ctrl_c_does(tmp_path: Path, signum: int,
                                                     worker_groups: list[int]) -> None:
    # GIVEN a long run with its own TMPDIR, its worker cycling and sampling
    folder, tmpdir = tmp_path / "run", tmp_path / "tmp"
    with started_cli(*LONG_RUN, "--run-dir", str(folder), env=user_env(tmpdir)) as harness:
        worker = find_worker(harness, worker_groups)
        # (the thread limits the harness sets for itself are not passed on to what it measures)
        assert not set(THREAD_VARIABLES) & set(worker.environ())
        # WHEN the harness gets the signal that `kill`, CI runners or a closed terminal send
        harness.send_signal(signum)
        _, stderr = harness.communicate(timeout=60)
    # THEN it ends as on Ctrl-C: exit 130, one line naming the signal, partial results kept
    name = signal.Signals(signum).name
    assert harness.returncode == 130, stderr
    assert "Traceback" not in stderr and f"interrupted by {name}" in stderr
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["status"] == "interrupted" and meta["complete"] is False
    assert name in meta["error"]
    assert len((folder / "samples.csv").read_text().splitlines()) > 2
    assert load_run(folder).status == "interrupted"
    # AND the worker's group is killed and the scratch copy of the store removed
    assert wait_until_exited(worker, 5)
    assert scratch_left(tmpdir) == []


def test_sigterm_stops_a_sweep_instead_of_starting_the_next_cell(
        tmp_path: Path, worker_groups: list[int]) -> None:
    output, tmpdir = tmp_path / "sweep", tmp_path / "tmp"
    with started_cli("sweep", "--sizes", "1500,1600", "--stores", "wholefile", "--reuse", "no",
                     "--repeat", "1", "--cycles", "100000", "--sample-every", "1",
                     "-o", str(output), env=user_env(tmpdir)) as harness:
        worker = find_worker(harness, worker_groups)
        harness.send_signal(signal.SIGTERM)
        _, stderr = harness.communicate(timeout=60)
    assert harness.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted by SIGTERM" in stderr
    cells = sorted(p for p in output.iterdir() if p.is_dir())
    assert len(cells) == 1  # the second cell never started
    assert json.loads((cells[0] / "meta.json").read_text())["status"] == "interrupted"
    assert wait_until_exited(worker, 5) and scratch_left(tmpdir) == []


@pytest.mark.parametrize("runtime", ["python", "node"])
def test_a_worker_exits_at_once_when_the_harness_is_killed_during_warm_up(
        tmp_path: Path, runtime: str, worker_groups: list[int]) -> None:
    if runtime == "node" and shutil.which("node") is None:
        pytest.skip("node is not on the PATH")
    # GIVEN a worker deep in a long warm-up, when it neither sends nor reads anything
    with started_cli("run", "--repeat", "1", "--store", "wholefile", "--runtime", runtime,
                     "--target-kb", "1500", "--cycles", "5", "--warmup-cycles", "1000000",
                     "--run-dir", str(tmp_path / "run"),
                     env=user_env(tmp_path / "tmp")) as harness:
        worker = find_worker(harness, worker_groups)
        # WHEN the harness is killed outright (no handler runs: the OOM killer, kill -9)
        harness.kill()
        harness.communicate(timeout=30)
    # THEN the worker notices that its runner is gone and exits within seconds
    assert wait_until_exited(worker, 5), f"worker {worker.pid} outlived its runner"


def test_a_signal_while_results_are_written_waits_for_the_writing() -> None:
    # a real SIGTERM to a real process: held inside the block, raised once it is done, and a
    # second one while the harness winds down is ignored rather than break off the clean-up
    code = ("import os, signal\n"
            "from session_store_harness.measuring.processes import (\n"
            "    Interrupted, interrupt_on_signals, interrupts_deferred)\n"
            "interrupt_on_signals()\n"
            "try:\n"
            "    with interrupts_deferred():\n"
            "        os.kill(os.getpid(), signal.SIGTERM)\n"
            "        print('written', flush=True)\n"
            "except Interrupted as exc:\n"
            "    print('then', exc.signal_name, flush=True)\n"
            "os.kill(os.getpid(), signal.SIGTERM)\n"
            "print('clean-up went on', flush=True)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.stdout.splitlines() == ["written", "then SIGTERM", "clean-up went on"], (
        result.stderr)


@pytest.mark.parametrize("runtime", ["python", "node"])
def test_a_tmpdir_that_fills_up_under_the_worker_is_its_store_error_not_a_traceback(
        tmp_path: Path, runtime: str) -> None:
    if runtime == "node" and shutil.which("node") is None:
        pytest.skip("node is not on the PATH")
    with tmpfs(tmp_path / "tmp", "128k") as tmpdir:  # the store and its copy, not a rewrite
        folder = tmp_path / "run"
        result = run_cli(*QUICK_RUN, "--runtime", runtime, "--run-dir", str(folder),
                         env=user_env(tmpdir))
        assert scratch_left(tmpdir) == []
    assert_one_line_error(result, 1, "repeat 1: ", "sessions.json: ")
    assert "OSError" not in result.stderr and "    at " not in result.stderr  # no stack
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["status"] == "failed"
    assert meta["repeats"][0]["worker"]["exit_code"] == 10  # the store's error, said as such
    # both stores say so: the Node store once wrote what fitted, unchecked, and a truncated
    # file replaced the store; it now writes until all is written or the disk says no
    assert "no space left on device" in meta["error"].lower()


# ---- 2. numeric libraries under a memory limit -------------------------------------------

def test_the_parent_runs_its_numeric_libraries_on_one_thread_and_keeps_it_to_itself() -> None:
    # the limit is set before numpy loads, as `harness` does before any command runs
    code = ("from session_store_harness.measuring.processes import child_env, "
            "limit_numeric_threads\n"
            "limit_numeric_threads()\n"
            "import os, numpy, scipy.stats\n"
            "print(len(os.listdir('/proc/self/task')))\n"
            "print(sorted((k, v) for k, v in child_env().items() if k.endswith('_NUM_THREADS')))")

    def threads_and_child_env(env: dict[str, str]) -> list[str]:
        return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, check=True).stdout.splitlines()

    bare = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    threads, child = threads_and_child_env(bare)
    assert child == "[]"  # children get what the user had: nothing
    if (os.cpu_count() or 1) > 1:  # with one CPU, one thread is also OpenBLAS's own choice
        assert threads == "1"
    # a number the user chose is theirs, and their children's
    _, child = threads_and_child_env({**bare, "OPENBLAS_NUM_THREADS": "2"})
    assert child == "[('OPENBLAS_NUM_THREADS', '2')]"


@pytest.mark.parametrize("limit_mb", [150, 250, 400])
def test_a_memory_limit_never_hangs_or_kills_the_harness_after_the_run(
        tmp_path: Path, limit_mb: int) -> None:
    if shutil.which("prlimit") is None:
        pytest.skip("prlimit (util-linux) is not installed")
    folder = tmp_path / "run"
    result = subprocess.run(
        ["prlimit", f"--as={limit_mb * 1024 * 1024}", sys.executable, "-m",
         "session_store_harness.cli", *QUICK_RUN, "--run-dir", str(folder)],
        cwd=REPO, env=user_env(tmp_path / "tmp"), capture_output=True, text=True, timeout=180)
    # no hang (the timeout), no exit from inside OpenBLAS, no traceback
    assert "OpenBLAS error" not in result.stderr and "Traceback" not in result.stderr
    # the run folder is complete whatever became of summary.json
    assert load_run(folder).complete
    if result.returncode == 0:
        assert (folder / "summary.json").is_file()
    else:
        assert result.returncode == 1, result.stderr
        [line] = error_lines(result.stderr)
        assert line.startswith("harness: error: summary.json could not be computed: ")
        assert not (folder / "summary.json").exists()


# ---- 3. a full results disk ----------------------------------------------------------------

def test_a_full_results_disk_saves_the_run_under_tmpdir_and_says_where(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "64k") as disk:
        # GIVEN a results disk with room for about one CSV of the run
        fill(disk, leave_bytes=16 * 1024)
        folder = disk / "run"
        result = run_cli("run", "--repeat", "1", "--store", "wholefile", "--target-kb", "200",
                         "--cycles", "200", "--sample-every", "1", "--run-dir", str(folder),
                         env=user_env(tmp_path / "tmp"))
        # THEN one line, exit 1, naming the failure and where the run went instead
        assert_one_line_error(result, 1, "No space left on device")
        [line] = error_lines(result.stderr)
        saved = Path(re.search(r"the run was written to (\S+) instead", line).group(1))
        # AND nothing of the half-written folder is left on the full disk
        assert not folder.exists()
    # AND the run is whole where it was saved
    assert saved.parent == tmp_path / "tmp"
    run = load_run(saved)
    assert run.complete and len(run.repeats[0].samples) == 201
    assert (saved / "summary.json").is_file()


# ---- 4. one-line errors: read-only results, a long label, a full TMPDIR, bad inputs --------

@pytest.mark.parametrize(("option", "where"), [
    ("--results-dir", "results"),  # an existing folder on a read-only file system
    ("--results-dir", "results/new"),  # a folder still to be made there
    ("--run-dir", "results/run"),
])
def test_a_read_only_results_folder_is_a_one_line_error(tmp_path: Path, option: str,
                                                        where: str) -> None:
    with tmpfs(tmp_path / "disk", "1m") as disk:
        (disk / "results").mkdir()
        remount_read_only(disk)
        result = run_cli(*QUICK_RUN, option, str(disk / where),
                         env=user_env(tmp_path / "tmp"))
        assert_one_line_error(result, 2, str(disk / "results"))
        assert list((disk / "results").iterdir()) == []
    assert scratch_left(tmp_path / "tmp") == []


def test_a_label_too_long_for_a_file_name_is_a_one_line_error(tmp_path: Path) -> None:
    results = tmp_path / "results"
    result = run_cli(*QUICK_RUN, "--results-dir", str(results), "--label", "a" * 245,
                     env=user_env(tmp_path / "tmp"))
    assert_one_line_error(result, 2, "File name too long", "cannot create the result folder")
    assert list(results.iterdir()) == []


@pytest.mark.parametrize(("store_kb", "from_file"), [
    (50, False),  # the generated store fits; its copy for the first repeat does not
    (100, False),  # generating the store itself fails
    (100, True),  # copying the user's store fails
], ids=["repeat-copy", "generate", "store-file"])
def test_a_full_tmpdir_is_a_one_line_error_and_leaves_no_folder(
        tmp_path: Path, store_kb: int, from_file: bool) -> None:
    store_args = ("--target-kb", str(store_kb))
    if from_file:
        store = tmp_path / "store" / "sessions.json"
        store.parent.mkdir()
        generate(GenerateSpec("realistic", seed=1, target_kb=store_kb), store)
        store_args = ("--store-file", str(store))
    with tmpfs(tmp_path / "tmp", "64k") as tmpdir:
        folder = tmp_path / "run"
        result = run_cli("run", "--repeat", "1", "--store", "wholefile", *store_args,
                         "--cycles", "3", "--run-dir", str(folder),
                         env=user_env(tmpdir))
        assert_one_line_error(result, 2, "No space left on device")
        assert not folder.exists()  # no empty result folder
        assert scratch_left(tmpdir) == []


def test_a_store_copy_that_fails_after_a_repeat_ran_fails_the_run_and_keeps_that_repeat(
        tmp_path: Path) -> None:
    pristine = tmp_path / "pristine" / "sessions.json"
    pristine.parent.mkdir()
    generate(GenerateSpec("pr", 1, target_kb=20), pristine)
    info = StoreInfo("generated", pristine.stat().st_size, file_sha256(pristine))
    config = RunConfig(store="wholefile", cycles=2, sample_every=1, repeat=2, store_file=pristine)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "repeat-2").write_text("in the way")  # its copy cannot be made
    run = run_repeats(config, pristine, info, {}, scratch)
    assert run.status == "failed" and "repeat 2: cannot copy the store" in run.error
    assert run.repeats[0].status == "complete" and run.repeats[0].samples
    # the first repeat's copy failing means nothing was measured: an error, not a run
    (tmp_path / "scratch-2" / "repeat-1").mkdir(parents=True)
    with pytest.raises(HarnessError, match="nothing was run"):
        run_repeats(config, pristine, info, {}, tmp_path / "scratch-2")


@pytest.fixture(scope="module")
def good_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("gate") / "good"
    result = run_cli(*QUICK_RUN, "--run-dir", str(folder))
    assert result.returncode == 0, result.stderr
    return folder


def _drop_rss(folder: Path) -> None:
    rows = list(csv.reader(io.StringIO((folder / "samples.csv").read_text())))
    column = rows[0].index("rss_mb")
    _write_csv(folder / "samples.csv", [row[:column] + row[column + 1:] for row in rows])


def _text_rss(folder: Path) -> None:
    rows = list(csv.reader(io.StringIO((folder / "samples.csv").read_text())))
    rows[2][rows[0].index("rss_mb")] = "lots"
    _write_csv(folder / "samples.csv", rows)


def _write_csv(path: Path, rows: list[list[str]]) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue())


def _meta_list(folder: Path) -> None:
    (folder / "meta.json").write_text("[]")


def _null_repeats(folder: Path) -> None:
    meta = json.loads((folder / "meta.json").read_text())
    (folder / "meta.json").write_text(json.dumps({**meta, "repeats": None}))


@pytest.mark.parametrize(("damage", "fragment"), [
    (_drop_rss, "samples.csv: columns"),
    (_text_rss, "column 'rss_mb' holds 'lots', not a finite number"),
    (_meta_list, "meta.json: not a JSON object"),
    (_null_repeats, "field 'repeats' must be list, got None"),
], ids=["no-rss_mb", "text-in-rss_mb", "meta-list", "repeats-null"])
def test_gate_on_a_damaged_run_folder_is_a_one_line_error(tmp_path: Path, good_run: Path,
                                                          damage: Callable[[Path], None],
                                                          fragment: str) -> None:
    folder = tmp_path / "damaged"
    shutil.copytree(good_run, folder)
    damage(folder)
    result = run_cli("gate", str(folder), "--max-peak-rss-mb", "1000")
    assert_one_line_error(result, 2, fragment)
    assert len(error_lines(result.stderr)) == 1
