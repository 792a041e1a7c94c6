"""report.md on runs with known figures: what it puts first, and what it claims."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from session_store_harness.judging.compare import compare_runs
from session_store_harness.model.result_folder import load_run, write_run
from session_store_harness.model.run import Run
from session_store_harness.writers.report import comparison_report, headline, run_report_md
from tests.fakes import fake_run, with_old_samples_csv

HARNESS_COMMIT = "a" * 40
STORE_COMMIT = "b" * 40 + "-dirty"


def with_environment(run: Run, runtime: str | None = None, **environment: Any) -> Run:
    """`run` as recorded on a machine: its environment, and the worker's word on its runtime."""
    repeats = run.repeats if runtime is None else tuple(
        replace(r, worker=replace(r.worker, runtime=runtime)) for r in run.repeats)
    return replace(run, environment=environment, repeats=repeats)


def row(report: str, name: str) -> str:
    """The Markdown table row whose first cell is `name`."""
    return next(line for line in report.splitlines() if line.startswith(f"| {name} |"))


def test_not_comparable_block_is_the_first_thing_under_the_title() -> None:
    # GIVEN runs of different store files and heap measures
    before = fake_run("before", [100, 110], 50, 120)
    after = fake_run("after", [100, 105], 50, 110, heap_measure="tracemalloc", sha="other")
    report = comparison_report(compare_runs(before, after), ["rss_vs_cycle.png"])
    lines = report.splitlines()
    # THEN the block opens the report, above the headline, and names every difference
    assert lines[2].startswith("> **⚠️ Not comparable**")
    assert report.index("Not comparable") < report.index("Too few repeats to tell")
    assert "> - the store file (SHA-256) differs (abc vs other)" in lines
    assert "> - the heap measure differs (allocator vs tracemalloc)" in lines
    assert "`--allow-different store-file,heap`" in lines[2]
    # AND the differences are not repeated among the other warnings
    assert "> ⚠️ not comparable:" not in report


def test_comparable_runs_have_no_block() -> None:
    run = fake_run("a", [100, 110], 50, 120)
    assert "Not comparable" not in comparison_report(compare_runs(run, run), [])


def test_headline_states_a_change_only_where_the_verdict_is_better_or_worse() -> None:
    # GIVEN 5 repeats a side: RSS significantly worse, time the same but spread out
    before = fake_run("b", [100, 110], 50, 120, repeats=5, jitter=0.5)
    after = fake_run("a", [100, 120], 50, 130, repeats=5, jitter=0.5)
    assert headline(compare_runs(before, after)) == (
        "Steady RSS (median, 2nd half) rose from 111.0 MB to 121.0 MB (+10.0 MB, +9.0%); "
        "no significant change in median time per cycle (noisy).")
    # AND the better direction reads as a fall
    assert headline(compare_runs(after, before)).startswith(
        "Steady RSS (median, 2nd half) fell from 121.0 MB to 111.0 MB (-10.0 MB, -8.3%)")


def test_headline_of_a_noisy_change_claims_none() -> None:
    noisy = compare_runs(fake_run("b", [100, 110], 50, 120, repeats=5, jitter=10),
                         fake_run("a", [100, 111], 50, 121, repeats=5, jitter=10))
    assert headline(noisy).startswith(
        "No significant change in steady RSS (median, 2nd half) (noisy); ")


def test_headline_with_too_few_repeats_says_so_whatever_the_figures() -> None:
    # GIVEN a large change measured with one repeat, and with three (min p = 0.1) a side
    for repeats in (1, 3):
        before = fake_run("b", [100, 200], 50, 220, repeats=repeats, jitter=0.1)
        after = fake_run("a", [100, 400], 90, 420, repeats=repeats, jitter=0.1)
        # THEN no change is stated, only that the runs cannot tell
        assert headline(compare_runs(before, after)) == (
            "Too few repeats to tell a change in steady RSS (median, 2nd half) or median time "
            f"per cycle ({repeats} before, {repeats} after; at least 4 a side are needed).")


def test_relative_change_is_dash_under_the_floor_and_the_absolute_change_is_kept() -> None:
    # GIVEN a baseline that does not grow (0 MB/cycle, under the 0.1 floor) and one that does
    flat = fake_run("flat", [100, 100, 100], 50, 100)
    growing = fake_run("growing", [100, 101, 102], 50, 102)
    report = comparison_report(compare_runs(flat, growing), [])
    cells = [c.strip() for c in row(report, "RSS growth per cycle").split("|")[1:-1]]
    # THEN: metric, before, after, change, relative, CI, p, detectable change, verdict
    assert cells[1:5] == ["0.000 MB/cycle", "0.100 MB/cycle", "+0.100 MB/cycle", "-"]
    assert cells[5:8] == ["-", "-", "-"]  # no interval, p or MDC from one repeat a side


def test_environment_shows_the_workers_runtime_and_both_commits() -> None:
    # GIVEN a Node run recorded by a harness running on Python 3.12.99
    node = with_environment(
        fake_run("node", [40, 45], 20, 47, runtime="node", heap_measure="v8"),
        runtime="node v20.20.2", python={"version": "3.12.99"}, git_commit=HARNESS_COMMIT,
        cgroup_memory_limit="8.0 GiB", cgroup_memory_limit_bytes=8 * 2**30,
        code_under_test={"store": {"path": "sessionStore.mjs", "git_commit": STORE_COMMIT}})
    report = run_report_md(node)
    assert row(report, "runtime") == "| runtime | node v20.20.2 |"
    assert "3.12.99" not in report
    assert row(report, "cgroup memory limit") == "| cgroup memory limit | 8.0 GiB |"
    lines = report.splitlines()
    harness = lines.index(f"| harness commit | {HARNESS_COMMIT} |")
    assert lines[harness + 1] == f"| store code commit | {STORE_COMMIT} |"


def test_environment_of_older_runs_reads_the_raw_cgroup_line(tmp_path: Path) -> None:
    for raw, shown in (("max", "none"), ("9223372036854771712", "none"),
                       ("2147483648", "2.0 GiB")):
        # GIVEN a version 1 folder, which kept the cgroup file's first line as it was
        folder = tmp_path / raw
        folder.mkdir()
        write_run(with_environment(fake_run("old", [40, 45], 20, 47)), folder)
        with_old_samples_csv(folder)
        meta = json.loads((folder / "meta.json").read_text())
        meta["schema_version"] = 1
        meta["environment"] = {"cgroup_memory_limit": raw}
        (folder / "meta.json").write_text(json.dumps(meta))
        # THEN it loads upgraded, and the report shows the limit as new runs do
        report = run_report_md(load_run(folder))
        assert row(report, "cgroup memory limit") == f"| cgroup memory limit | {shown} |"
        assert row(report, "store code commit") == "| store code commit | - |"
        assert row(report, "runtime") == "| runtime | python |"


def test_run_report_takes_no_interval_from_one_value_and_uses_the_metrics_labels() -> None:
    report = run_report_md(fake_run("one", [100, 110], 50, 120))
    assert ("Steady RSS (median, 2nd half) 110.0 MB, peak RSS 120.0 MB (kernel lifetime peak + "
            "sampled, warm-up included; median of 1 repeat(s)).") in report
    assert row(report, "RSS at last cycle") == "| RSS at last cycle | 110.0 MB | - | 110.000 |"
    # two repeats give an interval
    two = run_report_md(fake_run("two", [100, 110], 50, 120, repeats=2, jitter=1))
    peak = row(two, "peak RSS (kernel lifetime peak + sampled, warm-up included)")
    assert peak.split("|")[3].strip().startswith("[")


def test_deltas_show_the_detectable_change_and_a_sentence_says_what_it_means() -> None:
    # GIVEN 4 repeats a side, RSS spread over 15 MB (sd 6.455 MB), times over 15 ms likewise
    before = fake_run("b", [100, 100], 50, 120, repeats=4, jitter=5)
    after = fake_run("a", [100, 100], 50, 120, repeats=4, jitter=5)
    report = comparison_report(compare_runs(before, after), [])
    # THEN the deltas table has the MDC, 1.42 * 2.867 * 6.455 * sqrt(1/2) = 18.6 MB, before
    # the verdict
    cells = [c.strip() for c in row(report, "steady RSS (median, 2nd half)").split("|")[1:-1]]
    assert cells[7:] == ["18.6 MB", "no significant change (noisy)"]
    assert "| p | detectable change | verdict |" in report
    # AND a sentence under the table says it for the headline metrics, with its caveat
    sentence = next(line for line in report.splitlines() if line.startswith("With "))
    assert sentence == (
        "With 4 repeats a side this comparison could tell apart changes of 18.6 MB (17.3%) or "
        "more in steady RSS (median, 2nd half) and of 18.6 ms (32.3%) or more in median time "
        "per cycle (80% power at p < 0.05).")
    assert report.index("## Deltas") < report.index(sentence) < report.index("## Samples")


def test_the_detectable_change_sentence_names_uneven_sides_and_drops_the_caveat() -> None:
    before = fake_run("b", [100, 100], 50, 120, repeats=8, jitter=0.5)
    after = fake_run("a", [100, 100], 50, 120, repeats=10, jitter=0.5)
    report = comparison_report(compare_runs(before, after), [])
    sentence = next(line for line in report.splitlines() if line.startswith("With "))
    assert sentence.startswith("With 8 repeats before and 10 after this comparison could tell")
    assert sentence.endswith("(80% power at p < 0.05).")


def test_too_few_repeats_have_no_detectable_change() -> None:
    report = comparison_report(compare_runs(fake_run("b", [100, 110], 50, 120, repeats=3),
                                            fake_run("a", [100, 110], 50, 120, repeats=3)), [])
    assert "could tell apart" not in report
    cells = [c.strip() for c in row(report, "steady RSS (median, 2nd half)").split("|")[1:-1]]
    assert cells[7] == "-"
