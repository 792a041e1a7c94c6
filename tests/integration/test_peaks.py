"""Exact peaks: the kernel's high-water mark per sample interval, the traced heap's peak, and
the fallback where the mark cannot be reset. Real workers, real /proc, real files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from session_store_harness.generating.generator import GenerateSpec
from session_store_harness.judging.compare import compare_runs
from session_store_harness.judging.metrics import values_of
from session_store_harness.measuring.processes import child_env
from session_store_harness.measuring.runner import run_worker, worker_command
from session_store_harness.measuring.sampler import (
    clear_refs_path,
    kernel_peak_rss_bytes,
    reset_kernel_peak,
)
from session_store_harness.model.config import RunConfig
from session_store_harness.model.result_folder import load_run, write_run
from session_store_harness.model.run import (
    MB,
    PEAK_LIFETIME,
    PEAK_PER_INTERVAL,
    Run,
    StoreInfo,
    WorkerRun,
)
from session_store_harness.worker.protocol import ACK, decode
from session_store_harness.writers.console import repeat_line
from session_store_harness.writers.report import run_report_md
from tests.conftest import store_in

NEEDS_NODE = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
PAD_MB = 48


@pytest.fixture
def store_1000kb(tmp_path: Path) -> Path:
    return store_in(tmp_path / "store", GenerateSpec("realistic", seed=7, target_kb=1000))


@pytest.fixture
def warmup_only_transient(tmp_path: Path) -> Path:
    """A 200 KB store followed by 48 MiB of whitespace (valid JSON): the first cycle reads and
    decodes all of it, then its update rewrites the file compactly, so only that cycle ever
    holds the big block: a transient of the warm-up alone, made by the store's own work."""
    path = store_in(tmp_path / "padded", GenerateSpec("realistic", seed=7, target_kb=200))
    with path.open("ab") as handle:
        handle.write(b" " * (PAD_MB * MB))
    return path


def measured(config: RunConfig, store: Path, folder: Path, **kwargs) -> WorkerRun:
    folder.mkdir()
    run = run_worker(config, store, folder, **kwargs)
    assert run.status == "complete", run.error
    return run


def as_run(config: RunConfig, repeat: WorkerRun, name: str) -> Run:
    return Run(config=config, environment={}, store=StoreInfo("generated", 1, "abc"),
               started_at="2026-11-27T05:00:00+00:00", finished_at="2026-11-27T05:00:01+00:00",
               repeats=(repeat,), folder=Path(name))


def test_interval_peaks_are_never_below_a_reading_of_their_interval(tmp_path: Path,
                                                                     store_1000kb: Path) -> None:
    # GIVEN samples every 2 cycles and readings every 2 ms
    config = RunConfig(store="wholefile", cycles=8, sample_every=2, interval_ms=2.0,
                       store_file=store_1000kb)
    # WHEN a real worker is measured
    run = measured(config, store_1000kb, tmp_path / "w")
    samples = {s.cycle: s for s in run.samples}
    # THEN the kernel's mark was reset at every sample and read for every interval
    assert run.peak_method == PEAK_PER_INTERVAL and run.peak_reset_error is None
    assert all(s.kernel_peak_rss_bytes for s in run.samples)
    # AND no sample's peak is below its own reading
    assert all(s.peak_rss_bytes >= s.rss_bytes for s in run.samples)
    # AND none is below a reading inside its interval: a point taken after odd cycle c (no
    # sample there) lies inside the interval that sample c + 1 closes
    inside = [p for p in run.timeline if p.cycle % 2 == 1]
    assert inside, "no background reading inside an interval"
    assert all(p.rss_bytes <= samples[p.cycle + 1].peak_rss_bytes for p in inside)
    # AND the run's peak is not below any reading of the measured cycles
    measured_readings = [*(s.rss_bytes for s in run.samples if s.cycle >= 1),
                         *(p.rss_bytes for p in run.timeline if p.cycle >= 1)]
    assert run.peak_rss_bytes >= max(measured_readings)
    assert run.peak_rss_bytes == max(
        [*(s.peak_rss_bytes for s in run.samples if s.cycle >= 1), run.kernel_peak_rss_bytes,
         *measured_readings])


def test_warmup_is_left_out_of_the_peak_and_counted_where_the_mark_cannot_be_reset(
        tmp_path: Path, warmup_only_transient: Path) -> None:
    config = RunConfig(store="wholefile", cycles=3, sample_every=1, warmup_cycles=1,
                       store_file=warmup_only_transient)
    copies = []
    for name in ("reset", "lifetime"):
        copy = tmp_path / f"{name}.json"
        shutil.copyfile(warmup_only_transient, copy)  # the first update compacts the file
        copies.append(copy)
    # WHEN measured with the kernel's mark reset at each sample
    reset = measured(config, copies[0], tmp_path / "reset")
    # THEN the warm-up's transient is in sample 0's interval (start-up and warm-up) only
    first = reset.samples[0]
    assert reset.peak_method == PEAK_PER_INTERVAL
    assert first.kernel_peak_rss_bytes > PAD_MB * MB
    assert all(s.peak_rss_bytes < PAD_MB * MB for s in reset.samples[1:])
    assert reset.peak_rss_bytes < PAD_MB * MB
    # WHEN the same store is measured where clear_refs cannot be written (no such file: a
    # system without /proc)
    no_proc = tmp_path / "no-proc"
    lifetime = measured(config, copies[1], tmp_path / "lifetime",
                        clear_refs=lambda pid: no_proc / str(pid) / "clear_refs")
    # THEN it falls back to the lifetime peak, warm-up counted as before, and says why
    assert lifetime.peak_method == PEAK_LIFETIME
    assert "No such file or directory" in lifetime.peak_reset_error
    assert str(no_proc) in lifetime.peak_reset_error
    assert all(s.kernel_peak_rss_bytes is None for s in lifetime.samples)
    assert lifetime.peak_rss_bytes > PAD_MB * MB
    # AND the result folder, the report and the console say how each peak was taken
    runs = []
    for name, repeat in (("reset", reset), ("lifetime", lifetime)):
        folder = tmp_path / f"{name}-run"
        folder.mkdir()
        runs.append(write_run(as_run(config, repeat, name), folder))
        assert load_run(folder).repeats[0].peak_method == repeat.peak_method
    assert "kernel peak per interval, warm-up excluded" in run_report_md(runs[0])
    assert "kernel lifetime peak + sampled, warm-up included" in run_report_md(runs[1])
    line = repeat_line(1, lifetime, config)
    assert "kernel lifetime peak + sampled" in line and "cannot reset" in line
    # AND a comparison of the two warns that the peaks were taken differently
    warnings = " ".join(compare_runs(runs[1], runs[0]).warnings)
    assert "peak RSS was taken differently" in warnings


def test_reset_kernel_peak_resets_a_real_processs_mark() -> None:
    # GIVEN a child that touched 64 MiB, freed it and waits
    with subprocess.Popen([sys.executable, "-c", "import sys\nb = bytearray(64 << 20)\n"
                           "del b\nprint(flush=True)\nsys.stdin.read()"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE) as child:
        try:
            child.stdout.readline()
            before = kernel_peak_rss_bytes(child.pid)
            # WHEN its mark is reset through its own clear_refs
            assert reset_kernel_peak(clear_refs_path(child.pid)) is None
            # THEN the kernel forgets the freed block
            after = kernel_peak_rss_bytes(child.pid)
            assert before > 64 * MB > after
        finally:
            child.kill()


def _reset_without_root_override(path: Path) -> str | None:
    """`reset_kernel_peak(path)` as this user, but without root's power to write any file
    (CAP_DAC_OVERRIDE dropped by util-linux `setpriv`), so a file's mode is what decides."""
    if os.geteuid() != 0:
        return reset_kernel_peak(path)
    if shutil.which("setpriv") is None:
        pytest.skip("as root, a read-only file is writable without setpriv to drop the power")
    code = ("import sys\nfrom pathlib import Path\n"
            "from session_store_harness.measuring.sampler import reset_kernel_peak\n"
            "print(reset_kernel_peak(Path(sys.argv[1])) or '')")
    result = subprocess.run(["setpriv", "--bounding-set=-dac_override,-dac_read_search",
                             sys.executable, "-c", code, str(path)], capture_output=True,
                            text=True, env=child_env(), check=True)
    return result.stdout.strip() or None


def test_a_clear_refs_that_cannot_be_written_is_a_reason_not_an_error(tmp_path: Path) -> None:
    # GIVEN a real read-only file, a folder and a missing file where clear_refs would be
    read_only = tmp_path / "read-only"
    read_only.write_bytes(b"")
    read_only.chmod(0o444)
    folder = tmp_path / "folder"
    folder.mkdir()
    # THEN each is refused with the reason, and nothing is created or written
    assert "Permission denied" in _reset_without_root_override(read_only)
    assert read_only.read_bytes() == b""
    assert "Is a directory" in reset_kernel_peak(folder)
    assert "No such file or directory" in reset_kernel_peak(tmp_path / "none" / "clear_refs")
    assert not (tmp_path / "none").exists()


def test_traced_heap_peak_sees_the_cycles_transient_heap(tmp_path: Path,
                                                         store_1000kb: Path) -> None:
    # GIVEN wholefile on a 1000 KB store, whose every cycle parses the whole file
    traced = RunConfig(store="wholefile", cycles=3, sample_every=1, heap="tracemalloc",
                       store_file=store_1000kb)
    run = measured(traced, store_1000kb, tmp_path / "traced")
    # THEN every sample's heap peak covers its resting heap
    assert all(s.heap_peak_bytes >= s.heap_bytes for s in run.samples)
    # AND the parse's transient heap shows in the peak, not in the resting heap: several MB
    # above it in every measured interval
    for sample in run.samples[1:]:
        assert sample.heap_peak_bytes - sample.heap_bytes > 3 * sample.store_bytes
    # AND the allocator meter has no peak: none in the samples, no metric, no comparison row
    plain = RunConfig(store="wholefile", cycles=3, sample_every=1, store_file=store_1000kb)
    untraced = measured(plain, store_1000kb, tmp_path / "plain")
    assert all(s.heap_peak_bytes is None for s in untraced.samples)
    before, after = (as_run(plain, untraced, "a"), as_run(plain, untraced, "b"))
    assert values_of(before, "heap_peak_mb") == []
    assert compare_runs(before, after).get("heap_peak_mb") is None
    assert values_of(as_run(traced, run, "t"), "heap_peak_mb")[0] > 3 * store_1000kb.stat(
        ).st_size / MB


def test_traced_heap_peak_leaves_out_warmup(tmp_path: Path, warmup_only_transient: Path) -> None:
    config = RunConfig(store="wholefile", cycles=2, sample_every=1, warmup_cycles=1,
                       heap="tracemalloc", store_file=warmup_only_transient)
    run = measured(config, warmup_only_transient, tmp_path / "w")
    # THEN the warm-up's decoded text is in sample 0's heap peak and in no later one
    assert run.samples[0].heap_peak_bytes > PAD_MB * MB
    assert all(s.heap_peak_bytes < PAD_MB * MB / 4 for s in run.samples[1:])


def raw_samples(config: RunConfig, store: Path) -> list[dict]:
    """The `sample` messages of a worker as sent, acked here as the runner would."""
    msg_r, msg_w = os.pipe()
    ack_r, ack_w = os.pipe()
    process = subprocess.Popen(worker_command(config, store, msg_w, ack_r),
                               pass_fds=(msg_w, ack_r), env=child_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(msg_w)
    os.close(ack_r)
    messages = []
    with os.fdopen(msg_r, "rb") as lines:
        for line in lines:
            messages.append(decode(line))
            if messages[-1]["type"] in ("pretrim", "sample", "done"):
                os.write(ack_w, ACK)
    os.close(ack_w)
    assert process.wait(timeout=120) == 0, process.stderr.read()
    process.stderr.close()
    return [m for m in messages if m["type"] == "sample"]


@pytest.mark.parametrize(("runtime", "heap", "has_peak"), [
    ("python", "allocator", False), ("python", "tracemalloc", True),
    pytest.param("node", "allocator", False, marks=NEEDS_NODE),
])
def test_every_sample_message_carries_the_heap_peak_field(store_1000kb: Path, runtime: str,
                                                          heap: str, has_peak: bool) -> None:
    config = RunConfig(store="snapshot", runtime=runtime, cycles=2, sample_every=1, heap=heap,
                       store_file=store_1000kb)
    samples = raw_samples(config, store_1000kb)
    assert [m["cycle"] for m in samples] == [0, 1, 2]
    # THEN the field is always there: a figure where the runtime keeps a peak, else null
    # (V8 keeps none of its used heap: docs/worker-protocol.md)
    assert all("heap_peak_bytes" in m for m in samples)
    assert all((m["heap_peak_bytes"] is not None) == has_peak for m in samples)
