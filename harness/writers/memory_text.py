"""What `harness check-memory` prints: a line per run, the verdict, the failing output; and in
GitHub Actions, the step summary's table and the annotations of the cases that failed."""

from __future__ import annotations

from collections.abc import Sequence

from session_store_harness.measuring.memcheck import CGROUP, CaseResult, CommandMeasurement
from session_store_harness.model.run import MB
from session_store_harness.writers.github import annotation
from session_store_harness.writers.table import markdown_table

ANNOTATION_TITLE = "memory check"


def run_line(result: CaseResult) -> str:
    """`[memory] NAME run I/N: X MB by METHOD (...)`: the method whose reading was the peak."""
    run, case = result.runs[-1], result.case
    # leftovers are killed when the command ends: what they would have used later is not seen
    killed = f"; killed {run.left_behind} it left running" if run.left_behind else ""
    return (f"[memory] {case.name} run {len(result.runs)}/{case.runs}: {_figure(run)} "
            f"({run.processes_seen} process(es), {run.duration_s:.2f} s{killed}"
            f"{_fallback(run.cgroup_unused)})")


def _fallback(why: str | None) -> str:
    """Where the cgroup's own counter could not be used: that the figure is the fallback's,
    and why (the exact, whole-tree figure is the cgroup's)."""
    return f"; no {CGROUP}: {why}" if why else ""


def _figure(run: CommandMeasurement) -> str:
    if not run.measured:
        return "nothing measured"
    figure = f"{run.peak_bytes / MB:.1f} MB by {run.method}"
    if run.upper_bound:
        # at the launcher's floor the kernel's figure is what the command inherited, not its own
        return f"at most {figure} (the launcher's floor: its own peak is no higher)"
    return figure


def verdict_line(result: CaseResult) -> str:
    failed, unmeasured = result.failed_run, result.unmeasured_run
    if failed is not None:
        return (f"[memory] {result.case.name}: command exited with code {failed.exit_code}; "
                f"last output:\n{failed.output_tail}")
    if unmeasured is not None:
        return (f"[memory] {result.case.name}: run {unmeasured} was not measured (no kernel "
                f"figure, no sample): refusing to pass")
    return (f"[memory] {result.case.name}: {result.peak_mb:.1f} MB peak RSS (limit "
            f"{result.case.limit_mb:g} MB)" + ("" if result.passed else " FAIL"))


# ---- GitHub Actions: the step summary and annotations ----------------------------------------

ICONS = {True: "✅", False: "❌"}


def memory_markdown(results: Sequence[CaseResult], stopped: str | None = None) -> str:
    """A table of every case: its peak, limit and outcome, and how the peak was measured; under
    it, why the cgroup's counter was not used where it was not. `stopped`: the error that ended
    the check before every case ran (the cases before it are still tabled)."""
    passed = stopped is None and all(result.passed for result in results)
    table = markdown_table(("case", "outcome", "measured by", "peak RSS", "limit", "runs (MB)"), [
        (r.case.name, f"{ICONS[r.passed]} {_outcome(r)}", r.methods or "-", _case_peak(r),
         f"{r.case.limit_mb:g} MB", _runs(r)) for r in results], align_right_from=3)
    reasons = dict.fromkeys(r.cgroup_unused for r in results if r.cgroup_unused)
    notes = "".join(f"\n> Measured without {CGROUP} (the exact peak of the whole process "
                    f"tree): {why}. The peak is the larger of the kernel's per-process peak of "
                    f"every reaped process (rusage) and the tree's sampled RSS.\n"
                    for why in reasons)
    error = f"\n> ❌ Stopped: {stopped}\n" if stopped else ""
    return (f"### Memory check: {ICONS[passed]} {'pass' if passed else 'fail'}\n\n"
            f"{table}\n{error}{notes}")


def _case_peak(result: CaseResult) -> str:
    measured = [run for run in result.runs if run.measured]
    if not measured or result.unmeasured_run is not None:
        return "-"
    return f"{result.peak_mb:.1f} MB" + (f" (median of {len(result.runs)})"
                                         if len(result.runs) > 1 else "")


def _outcome(result: CaseResult) -> str:
    if result.failed_run is not None:
        return f"command exited with code {result.failed_run.exit_code}"
    if result.unmeasured_run is not None:
        return f"run {result.unmeasured_run} not measured"
    return "over the limit" if result.over_limit else "pass"


def _runs(result: CaseResult) -> str:
    return ", ".join(f"{run.peak_bytes / MB:.1f}" for run in result.runs if run.measured) or "-"


def memory_annotations(results: Sequence[CaseResult], stopped: str | None = None) -> str:
    """`::error::` for every case that fails the job: over its limit, or a run that failed or
    that nothing measured; and for the error that stopped the check, if one did."""
    messages = [_error(r) for r in results if not r.passed]
    messages += [f"stopped: {stopped}"] if stopped else []
    return "\n".join(annotation("error", ANNOTATION_TITLE, message) for message in messages)


def _error(result: CaseResult) -> str:
    name = result.case.name
    if not result.over_limit:
        return f"{name}: {_outcome(result)}"
    return (f"{name}: {result.peak_mb:.1f} MB peak RSS over the limit "
            f"{result.case.limit_mb:g} MB ({_case_peak_phrase(result)}by {result.methods})")


def _case_peak_phrase(result: CaseResult) -> str:
    return f"median of {len(result.runs)} runs, " if len(result.runs) > 1 else ""
