"""Steps across commits on synthetic series with a known answer, the history records they come
from, and the report's size at any history length."""

from __future__ import annotations

import json
import random
import threading
from pathlib import Path

import pytest

from session_store_harness.errors import HarnessError
from session_store_harness.judging.change_points import (
    MIN_POINTS,
    detect_steps,
    judge_history,
    levels,
    noise_sigma,
)
from session_store_harness.model.history import (
    HistoryRecord,
    MetricPoint,
    add_record,
    history_line,
    load_history,
    record_from_json,
)
from session_store_harness.writers.history_csv import history_csv
from session_store_harness.writers.history_markdown import MAX_CHART_POINTS, history_markdown
from session_store_harness.writers.history_text import history_text


def noisy(levels_at: list[tuple[int, float]], sigma: float, seed: int) -> list[float]:
    """A series of `count` points at `level` for each (count, level), plus Gaussian noise."""
    rng = random.Random(seed)
    return [level + rng.gauss(0, sigma) for count, level in levels_at for _ in range(count)]


def test_one_step_is_found_at_its_first_point_with_its_size() -> None:
    # GIVEN 10 commits at 100 MB then 10 at 120 MB, noise 1 MB
    values = noisy([(10, 100.0), (10, 120.0)], sigma=1.0, seed=1)
    detection = detect_steps(values, floor=1.0)
    assert [step.index for step in detection.steps] == [10]
    step = detection.steps[0]
    assert 18 < step.size < 22 and 18 < step.percent < 22
    assert levels(values, detection)[9] == step.before and levels(values, detection)[10] == \
        step.after


def test_a_step_up_and_a_step_down_are_both_found() -> None:
    values = noisy([(8, 50.0), (6, 70.0), (8, 55.0)], sigma=0.5, seed=2)
    steps = detect_steps(values, floor=1.0).steps
    assert [s.index for s in steps] == [8, 14]
    assert steps[0].size > 15 and steps[1].size < -10


@pytest.mark.parametrize("seed", range(5))
def test_a_flat_noisy_series_has_no_step(seed: int) -> None:
    # 2% noise: sigma is estimated from the series, so noise alone is no step
    values = noisy([(30, 100.0)], sigma=2.0, seed=seed)
    assert detect_steps(values, floor=1.0).steps == ()


def test_a_constant_series_and_a_step_under_the_floor_are_no_step() -> None:
    assert detect_steps([40.0] * 8, floor=1.0).steps == ()
    # 0.3 MB on 30 MB: under the 1 MB floor the harness resolves, whatever its noise
    assert detect_steps([30.0] * 4 + [30.3] * 4, floor=1.0).steps == ()


def test_a_step_at_the_newest_commit_and_a_blip_are_named_at_their_own_commits() -> None:
    assert [s.index for s in detect_steps([30.0] * 6 + [45.0], floor=1.0).steps] == [6]
    blip = detect_steps([30.0] * 6 + [45.0] + [30.0] * 3, floor=1.0).steps
    assert [(s.index, s.size) for s in blip] == [(6, 15.0), (7, -15.0)]


def test_too_few_points_are_not_judged() -> None:
    detection = detect_steps([10.0, 10.0, 30.0, 30.0], floor=1.0)
    assert len([10.0, 10.0, 30.0, 30.0]) < MIN_POINTS
    assert not detection.enough and detection.steps == () and detection.sigma is None


def test_noise_is_robust_to_the_step_and_floored() -> None:
    values = noisy([(20, 200.0), (20, 260.0)], sigma=3.0, seed=4)
    assert 1.5 < noise_sigma(values, floor=1.0) < 4.5  # the 60 MB step does not inflate it
    assert noise_sigma([50.0] * 10, floor=1.0) == 1.0  # the metric's floor
    assert noise_sigma([5.0] * 10, floor=1.0) == 0.25  # ... capped at 5% of the level
    assert noise_sigma([500.0] * 10, floor=1.0) == 5.0  # 1% of the level


# ---- records and histories --------------------------------------------------------------------

def sha(index: int) -> str:
    return f"{index:07x}".ljust(40, "a")  # short SHAs that differ


def record(index: int, rss: float, workload: str = "w1", environment: str = "e1",
           ms: float | None = 50.0) -> HistoryRecord:
    metrics = {"rss_steady_mb": MetricPoint(rss, 3), "peak_rss_mb": MetricPoint(rss + 1, 3)}
    if ms is not None:
        metrics["cycle_ms_median"] = MetricPoint(ms, 3)
    return HistoryRecord(
        commit=sha(index), commit_time=None, branch="main",
        added_at="2026-01-01T00:00:00+00:00", source="run", run_name=f"run-{index}",
        run_started_at="2026-01-01T00:00:00", harness_version="0.2.0",
        store={"written": "snapshot", "kind": "builtin"}, workload={"cycles": 4},
        workload_fingerprint=workload,
        environment={"system": "Linux", "machine": "x86_64", "cpu_count": 2, "memory_gib": 8,
                     "python": "CPython 3.11.7", "runtime": "cpython 3.11.7"},
        environment_fingerprint=environment, metrics=metrics)


def test_a_record_reads_back_as_written_and_a_wrong_field_is_named() -> None:
    original = record(7, 31.5)
    assert record_from_json(json.loads(history_line(original))) == original
    data = json.loads(history_line(original))
    data["metrics"]["rss_steady_mb"]["median"] = "31.5"
    with pytest.raises(HarnessError, match=r"rss_steady_mb\.median must be a finite number"):
        record_from_json(data)
    with pytest.raises(HarnessError, match="schema_version 9"):
        record_from_json({**json.loads(history_line(original)), "schema_version": 9})
    with pytest.raises(HarnessError, match="missing field 'commit'"):
        record_from_json({k: v for k, v in data.items() if k != "commit"})


def test_commits_of_another_workload_or_environment_are_left_out_of_the_judgement() -> None:
    # GIVEN commits 0-5 on an old runner at 80 MB, then 6 on the newest's at 30 MB with a step
    records = [record(i, 80.0, environment="old") for i in range(6)]
    records += [record(i, 30.0 if i < 12 else 40.0) for i in range(6, 18)]
    records.insert(9, record(99, 500.0, workload="other"))
    judgement = judge_history(records, ("rss_steady_mb",))
    # THEN the old runner's and the other workload's commits are not judged, and say why
    assert [e.record.commit for e in judgement.excluded] == [r.commit for r in records[:6]] + [
        sha(99)]
    assert judgement.excluded[0].reasons == ("another environment",)
    assert judgement.excluded[-1].reasons == ("another workload",)
    series = judgement.series[0]
    assert len(series.values) == 12
    assert [series.records[s.index].commit for s in series.detection.steps] == [sha(12)]
    text = history_text(judgement)
    assert "left out (7, not comparable with the newest)" in text
    assert f"step at {12:07x}: +10.0 MB (+33.3%)" in text


def test_a_metric_some_commits_lack_is_judged_over_those_that_have_it() -> None:
    records = [record(i, 30.0, ms=None if i % 2 else 50.0) for i in range(10)]
    series = judge_history(records, ("cycle_ms_median",)).series[0]
    assert len(series.values) == 5 and series.detection.steps == ()


def test_the_report_stays_under_githubs_limit_at_any_history_length() -> None:
    # GIVEN 3,000 commits, a step every 300, and 500 of another environment
    records = [record(i, 30.0 + 10 * (i // 300), environment="old" if i < 500 else "e1")
               for i in range(3000)]
    judgement = judge_history(records, ("rss_steady_mb", "peak_rss_mb", "cycle_ms_median"))
    text = history_markdown(judgement, "results/history/history.jsonl", "history.png")
    assert len(text) < 65_536
    assert text.count("```mermaid") == 3
    assert f"Chart: the newest {MAX_CHART_POINTS} of 2500 commits" in text
    assert "(500; the newest 20 listed)" in text
    steps = judgement.series[0].detection.steps
    assert [judgement.series[0].records[s.index].commit for s in steps] == [
        sha(i) for i in range(600, 3000, 300)]


def test_the_csv_twin_has_a_row_per_record_and_empty_cells_for_missing_figures() -> None:
    text = history_csv([record(1, 30.0), record(2, 31.0, ms=None)])
    lines = text.splitlines()
    assert len(lines) == 3 and lines[0].startswith("commit,commit_time,branch")
    assert lines[2].split(",").count("") >= 4  # commit_time, no time, no heap figures
    assert lines[1].split(",")[0] == sha(1)  # a row per record, in order


def test_adds_at_once_lose_no_record(tmp_path: Path) -> None:
    # GIVEN two writers adding 15 commits each to one history at the same time
    into = tmp_path / "history"
    batches = [[record(i, 30.0) for i in range(first, first + 15)] for first in (0, 100)]

    def add_all(batch: list[HistoryRecord]) -> None:
        for one in batch:
            add_record(into, one)

    threads = [threading.Thread(target=add_all, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # THEN the folder's lock kept every one, and the CSV twin matches them
    records = load_history(into)
    assert sorted(r.commit for r in records) == sorted(r.commit for b in batches for r in b)
    assert (into / "history.csv").read_text() == history_csv(records)


def test_a_fast_workloads_slowdown_is_not_hidden_by_the_metrics_floor() -> None:
    # 0.3 ms cycles (the entry workload): the 0.5 ms floor of cycle time must not swallow a 4x
    # slowdown held for three commits
    values = [0.30, 0.31, 0.30, 0.32, 0.31, 0.30, 1.2, 1.2, 1.2]
    assert [s.index for s in detect_steps(values, floor=0.5).steps] == [6]


def huge_figure() -> str:
    data = record(1, 30.0).as_dict()
    data["metrics"]["rss_steady_mb"]["median"] = 1e300  # squared, it would overflow
    return json.dumps(data)


@pytest.mark.parametrize(("line", "why"), [
    ("[" * 100_000, "nested too deeply"),
    (huge_figure(), "metrics.rss_steady_mb.median must be a finite number (at most 1e+09"),
])
def test_a_hand_made_line_is_a_one_line_refusal_and_left_as_it_is(
        tmp_path: Path, line: str, why: str) -> None:
    folder = tmp_path / "history"
    folder.mkdir(mode=0o700)
    (folder / "history.jsonl").write_text(line + "\n")
    before = (folder / "history.jsonl").read_bytes()
    with pytest.raises(HarnessError, match="line 1 is not a history record") as caught:
        load_history(folder)
    assert why in str(caught.value)
    assert (folder / "history.jsonl").read_bytes() == before
