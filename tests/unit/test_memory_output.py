"""check-memory's GitHub output: the step summary's table and the `::error::` annotations, from
case results as the command builds them."""

from __future__ import annotations

from session_store_harness.measuring.memcheck import CGROUP, RUSAGE, CaseResult, CommandMeasurement
from session_store_harness.model.run import MB
from session_store_harness.settings.memory_cases import MemoryCase
from session_store_harness.writers.memory_text import (
    memory_annotations,
    memory_markdown,
    run_line,
)

WHY = "our cgroup /sys/fs/cgroup/x does not delegate the memory controller to child cgroups"


def _run(peak_mb: float, exit_code: int = 0, cgroup: bool = False) -> CommandMeasurement:
    return CommandMeasurement(
        exit_code=exit_code, duration_s=0.1, peak_tree_rss_bytes=0, peak_process_hwm_bytes=0,
        ru_maxrss_bytes=None if cgroup else int(peak_mb * MB), processes_seen=1,
        output_tail="", cgroup_peak_bytes=int(peak_mb * MB) if cgroup else None,
        cgroup_unused=None if cgroup else WHY)


def _case(name: str, limit: float, *runs: CommandMeasurement) -> CaseResult:
    return CaseResult(MemoryCase(name, ("cmd",), limit, len(runs)), runs)


def test_the_summary_tables_every_case_with_its_method_and_says_why_no_cgroup() -> None:
    results = [_case("status", 100, _run(40), _run(42), _run(41)),
               _case("big", 100, _run(150, cgroup=True)),
               _case("broken", 100, _run(10, exit_code=3))]
    text = memory_markdown(results)
    lines = text.splitlines()
    assert lines[0] == "### Memory check: ❌ fail"
    assert lines[4] == (f"| status | ✅ pass | {RUSAGE} | 41.0 MB (median of 3) | 100 MB | "
                        "40.0, 42.0, 41.0 |")
    assert lines[5] == f"| big | ❌ over the limit | {CGROUP} | 150.0 MB | 100 MB | 150.0 |"
    assert lines[6].startswith("| broken | ❌ command exited with code 3 |")
    # the reason the cgroup's counter was not used is said once, however many cases share it
    assert text.count(WHY) == 1 and f"Measured without {CGROUP}" in text


def test_a_passing_check_has_a_pass_heading_and_no_annotation() -> None:
    results = [_case("status", 100, _run(40, cgroup=True))]
    assert memory_markdown(results).startswith("### Memory check: ✅ pass")
    assert "Measured without" not in memory_markdown(results)
    assert memory_annotations(results) == ""


def test_annotations_name_each_failing_case_and_are_escaped() -> None:
    results = [_case("odd\nname 100%", 50, _run(80), _run(90)), _case("fine", 100, _run(5)),
               _case("broken", 100, _run(10, exit_code=2))]
    lines = memory_annotations(results).split("\n")
    assert lines == [
        "::error title=memory check::odd%0Aname 100%25: 85.0 MB peak RSS over the limit 50 MB "
        f"(median of 2 runs, by {RUSAGE})",
        "::error title=memory check::broken: command exited with code 2"]


def test_the_run_line_says_why_it_fell_back_from_the_cgroup() -> None:
    line = run_line(_case("status", 100, _run(40)))
    assert line == (f"[memory] status run 1/1: 40.0 MB by {RUSAGE} (1 process(es), 0.10 s; "
                    f"no {CGROUP}: {WHY})")
    assert "no cgroup" not in run_line(_case("status", 100, _run(40, cgroup=True)))
