"""`harness run` end to end: real worker processes, real files, the CLI as a subprocess."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from session_store_harness.generating.generator import GenerateSpec, generate
from session_store_harness.measuring.runner import run_worker
from session_store_harness.model.config import RunConfig
from session_store_harness.model.run import MB
from tests.conftest import assert_one_line_error, run_cli

SAMPLE_COLUMNS = ["repeat", "cycle", "rss_mb", "peak_rss_mb", "sampled_peak_rss_mb",
                  "kernel_peak_rss_mb", "heap_mb", "heap_peak_mb", "external_mb", "store_kb",
                  "elapsed_ms", "untrimmed_rss_mb"]


def read_run(folder: Path) -> tuple[dict, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return (json.loads((folder / "meta.json").read_text()), pd.read_csv(folder / "samples.csv"),
            pd.read_csv(folder / "cycles.csv"), pd.read_csv(folder / "timeline.csv"))


@pytest.mark.parametrize(("store", "reuse"), [("wholefile", False), ("snapshot", True)])
def test_run_on_an_existing_store_writes_a_complete_result(tmp_path: Path, small_store: Path,
                                                           store: str, reuse: bool) -> None:
    original = small_store.read_bytes()
    mtime = small_store.stat().st_mtime_ns
    folder = tmp_path / "out"
    result = run_cli("run", "--store", store, "--store-file", str(small_store), "--cycles", "12",
                     "--repeat", "1", "--sample-every", "5", "--run-dir", str(folder),
                     *(["--reuse-loaded-store"] if reuse else []))
    assert result.returncode == 0, result.stderr
    # the user's file is only read
    assert small_store.read_bytes() == original and small_store.stat().st_mtime_ns == mtime
    meta, samples, cycles, timeline = read_run(folder)
    assert list(samples.columns) == SAMPLE_COLUMNS
    assert samples["cycle"].tolist() == [0, 5, 10, 12]
    assert (samples["rss_mb"] > 5).all() and (samples["peak_rss_mb"] >= samples["rss_mb"]).all()
    assert (samples["heap_mb"] > 0).all() and samples["elapsed_ms"].is_monotonic_increasing
    assert cycles["cycle"].tolist() == list(range(1, 13))
    assert cycles["wrote"].all()
    # reuse happens exactly when asked for, and only the fixed store can do it
    assert cycles["reused_base"].all() == reuse
    assert len(timeline) > 3 and set(timeline.columns) == {"repeat", "time_ms", "rss_mb",
                                                           "cycle"}
    assert (timeline["rss_mb"] > 0).all()  # no reading of an exited, unreaped worker
    assert meta["status"] == "complete" and meta["complete"] is True
    assert meta["store"]["size_bytes"] == len(original)
    # the peak is the kernel's per interval, reset at each sample, so start-up is left out;
    # it is never below a reading of the measured cycles (the kernel's mark lags a reading at
    # times, so each interval's peak is the higher of both); the raw figures are kept beside it
    repeat = meta["repeats"][0]
    assert repeat["peak_method"] == "kernel-per-interval"
    assert samples["kernel_peak_rss_mb"].notna().all()
    late, points = samples[samples["cycle"] >= 1], timeline[timeline["cycle"] >= 1]
    readings = [*late["sampled_peak_rss_mb"], *late["rss_mb"], *points["rss_mb"]]
    assert repeat["peak_rss_mb"] >= max(readings)
    assert repeat["peak_rss_mb"] == pytest.approx(max(
        late["peak_rss_mb"].max(), repeat["kernel_peak_rss_bytes"] / MB,
        repeat["sampled_peak_rss_bytes"] / MB), abs=0.001)
    env = meta["environment"]
    for field in ("python", "platform", "cpu_count", "cgroup_memory_limit",
                  "transparent_hugepages", "git_commit", "env"):
        assert field in env
    assert meta["config"]["store"] == store and meta["argv"]
    # the code under test is named with its own commit, beside the harness's
    code = env["code_under_test"]["store"]
    assert code["path"].endswith(f"stores/{store}.py")
    assert code["git_commit"] is None or re.fullmatch(r"[0-9a-f]{40}(-dirty)?",
                                                      code["git_commit"])
    assert {"PYTHONMALLOC", "MALLOC_ARENA_MAX"} <= set(env["env"])
    assert meta["heap_measure"] == "allocator"
    assert meta["repeats"][0]["worker"]["exit_code"] == 0
    # the printed table is the CONTEXT.md shape
    assert "cycle" in result.stdout and "rss_mb" in result.stdout and str(folder) in result.stdout


def test_known_growth_is_measured(tmp_path: Path) -> None:
    # GIVEN a store that keeps 4 MiB more per cycle WHEN run THEN RSS grows by about that much
    folder = tmp_path / "ballast"
    result = run_cli("run", "--store", "ballast", "--profile", "pr", "--target-kb", "200",
                     "--repeat", "1",
                     "--cycles", "30", "--sample-every", "10", "--env", "HARNESS_BALLAST_MB=4",
                     "--run-dir", str(folder))
    assert result.returncode == 0, result.stderr
    meta, samples, _, _ = read_run(folder)
    growth_per_cycle = (samples["rss_mb"].iloc[-1] - samples["rss_mb"].iloc[1]) / 20
    assert 3.5 < growth_per_cycle < 4.5
    assert meta["environment"]["env"]["HARNESS_BALLAST_MB"] == "4"
    assert meta["repeats"][0]["peak_rss_mb"] >= samples["rss_mb"].max()


def test_kernel_peak_is_the_workers_own_not_the_big_parents(tmp_path: Path) -> None:
    # GIVEN a parent (this test process) far bigger than the worker will be
    ballast = b"\x01" * (400 * MB)
    store_path = tmp_path / "sessions.json"
    generate(GenerateSpec("pr", seed=1, target_kb=50), store_path)
    config = RunConfig(store="wholefile", cycles=3, sample_every=1, store_file=store_path)
    # WHEN the runner measures the worker
    run = run_worker(config, store_path, tmp_path)
    # THEN the peak is the worker's (tens of MB), not the parent's 400+ MB
    assert run.status == "complete"
    assert run.kernel_peak_rss_bytes is not None
    assert run.kernel_peak_rss_bytes < 150 * MB < len(ballast)


def test_generated_runs_are_reproducible_and_folders_never_reused(tmp_path: Path) -> None:
    args = ("run", "--store", "snapshot", "--repeat", "1", "--profile", "pr", "--target-kb",
            "100", "--cycles",
            "2", "--sample-every", "1", "--results-dir", str(tmp_path), "--label", "same")
    first, second = run_cli(*args), run_cli(*args)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    folders = sorted(tmp_path.iterdir())
    # two folders, each named <timestamp>-<label>, a counter added if the second collided
    assert len(folders) == 2
    assert all(re.fullmatch(r"\d{8}-\d{6}-same(-2)?", f.name) for f in folders)
    hashes = {json.loads((f / "meta.json").read_text())["store"]["sha256"] for f in folders}
    assert len(hashes) == 1


def test_existing_run_dir_is_never_overwritten(tmp_path: Path, pr_store: Path) -> None:
    folder = tmp_path / "taken"
    folder.mkdir()
    (folder / "samples.csv").write_text("keep me")
    result = run_cli("run", "--store", "wholefile", "--store-file", str(pr_store), "--run-dir",
                     str(folder))
    assert_one_line_error(result, 2, "already exists")
    assert (folder / "samples.csv").read_text() == "keep me"


@pytest.mark.parametrize(("content", "fragment"), [
    (b'{"session:1": {"sessionId": "a", "updatedAt": 1},', "invalid JSON"),
    (b"", "store file is empty"),
    (b"{}", "store has no entries"),
])
def test_a_bad_store_is_refused_before_any_worker_starts(tmp_path: Path, content: bytes,
                                                        fragment: str) -> None:
    # GIVEN a store file no worker could load
    bad = tmp_path / "mine" / "sessions.json"
    bad.parent.mkdir()
    bad.write_bytes(content)
    folder = tmp_path / "run"
    # WHEN it is run
    result = run_cli("run", "--store", "snapshot", "--repeat", "1", "--store-file", str(bad),
                     "--run-dir", str(folder))
    # THEN a usage error names the user's own file (not a scratch copy), nothing ran, no
    # result folder is left behind, and the file is as it was
    assert_one_line_error(result, 2, fragment, f"{bad}:", "nothing was run")
    assert "harness-" not in result.stderr and "repeat-1" not in result.stderr
    assert not folder.exists()
    assert bad.read_bytes() == content


def test_a_hung_worker_is_stopped_at_the_timeout_and_its_samples_kept(tmp_path: Path) -> None:
    folder = tmp_path / "slow"
    started_s = time.time()
    result = run_cli("run", "--store", "wholefile", "--repeat", "1", "--profile", "realistic",
                     "--target-kb",
                     "2000", "--cycles", "100000", "--sample-every", "1", "--timeout", "3",
                     "--run-dir", str(folder))
    ended_s = time.time()
    assert_one_line_error(result, 1, "did not finish within --timeout 3")
    meta, samples, _, _ = read_run(folder)
    assert meta["status"] == "failed" and len(samples) >= 2
    # No orphan left behind. Only this run's own worker is looked at, so harness runs of
    # other tests or other people on the machine cannot fail this test.
    for repeat in meta["repeats"]:
        pid = repeat["worker"]["pid"]
        assert isinstance(pid, int) and pid > 0, repeat["worker"]
        holder_is_worker = _pid_held_by_process_of_run(pid, started_s, ended_s)
        assert holder_is_worker is not True, f"worker {pid} still runs after the run ended"
        if holder_is_worker is None:
            # Started with start_new_session=True, the worker leads a group whose id is its
            # pid: nothing it left behind may still be in it.
            assert not _group_has_members(pid), f"worker {pid}'s process group is still alive"
        # Otherwise an unrelated process holds the pid now, which Linux allows only once no
        # process is left in a group of that id: the worker's group is empty.


# psutil derives a create time from the boot time (whole seconds) and clock ticks.
CREATE_TIME_SLACK_S = 2.0


def _pid_held_by_process_of_run(pid: int, started_s: float, ended_s: float) -> bool | None:
    """Whether `pid` belongs to a process created while the run went on; None if to none."""
    try:
        created_s = psutil.Process(pid).create_time()
    except psutil.NoSuchProcess:
        return None
    return started_s - CREATE_TIME_SLACK_S <= created_s <= ended_s + CREATE_TIME_SLACK_S


def _group_has_members(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # members we may not signal are members all the same
    return True


@pytest.mark.parametrize(("args", "fragments"), [
    (("--store", "nosuch"), ("nosuch",)),
    (("--store", "wholefile", "--cycles", "0"), ("--cycles", "between 1")),
    (("--store", "wholefile", "--cycles", "-3"), ("--cycles",)),
    (("--store", "wholefile", "--target-kb", "0"), ("--target-kb",)),
    (("--store", "wholefile", "--store-file", "/nonexistent/sessions.json"),
     ("does not exist",)),
    (("--store", "wholefile", "--profile", "huge"), ("huge",)),
    (("--store", "wholefile", "--env", "NOEQUALS"), ("NAME=VALUE",)),
])
def test_bad_arguments_exit_2_with_one_line(tmp_path: Path, args: tuple[str, ...],
                                            fragments: tuple[str, ...]) -> None:
    result = run_cli("run", *args, "--results-dir", str(tmp_path / "r"))
    assert_one_line_error(result, 2, *fragments)
    assert not any((tmp_path / "r").glob("*/meta.json"))


def test_results_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_cli("run", "--store", "wholefile", "--profile", "pr", "--target-kb", "20",
                     "--results-dir", str(blocker / "results"))
    assert_one_line_error(result, 2, "file")


def test_repeats_warmup_and_trim_are_recorded(tmp_path: Path) -> None:
    # GIVEN a known leak of 3 MiB per load, 2 warm-up cycles, 3 repeats, trimming
    folder = tmp_path / "rep"
    result = run_cli("run", "--store", "ballast", "--profile", "pr", "--target-kb", "100",
                     "--cycles", "8", "--sample-every", "2", "--repeat", "3", "--warmup-cycles",
                     "2", "--trim", "--env", "HARNESS_BALLAST_MB=3", "--run-dir", str(folder))
    assert result.returncode == 0, result.stderr
    meta, samples, cycles, timeline = read_run(folder)
    # THEN every repeat has its own rows, numbered from 1
    assert samples.groupby("repeat")["cycle"].apply(list).to_dict() == {
        r: [0, 2, 4, 6, 8] for r in (1, 2, 3)}
    assert cycles.groupby("repeat").size().tolist() == [8, 8, 8]
    assert set(timeline["repeat"]) == {1, 2, 3}
    # AND warm-up cycles happened before cycle 0: 2 loads' ballast is already held
    first = samples[samples["cycle"] == 0]["heap_mb"]
    assert (first > 6 + 5).all()
    # AND trimming is recorded with the untrimmed reading beside it
    assert meta["config"]["trim"] is True and samples["untrimmed_rss_mb"].notna().all()
    summary = json.loads((folder / "summary.json").read_text())
    growth = summary["metrics"]["growth_mb_per_cycle"]
    assert summary["repeats"] == 3 and len(growth["values"]) == 3
    assert 2.6 < growth["median"] < 3.4
    low, high = growth["ci95_of_mean"]
    assert low <= growth["median"] <= high
    for name in ("rss_last_mb", "peak_rss_mb", "cycle_ms_median", "cycle_ms_p95",
                 "heap_last_mb"):
        assert len(summary["metrics"][name]["values"]) == 3
    # AND the report shows RSS with and without trimming
    report = tmp_path / "report.md"
    assert run_cli("report", str(folder), "-o", str(report)).returncode == 0
    assert "| cycle | rss_mb | untrimmed_rss_mb | heap_mb |" in report.read_text()
