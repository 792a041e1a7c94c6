"""What `harness check-memory` prints: a line per run, the verdict, the failing output."""

from __future__ import annotations

from session_store_harness.measuring.memcheck import CaseResult, CommandMeasurement
from session_store_harness.model.run import MB


def run_line(result: CaseResult) -> str:
    """`[memory] NAME run I/N: X MB by METHOD (...)`: the method whose reading was the peak."""
    run, case = result.runs[-1], result.case
    # leftovers are killed when the command ends: what they would have used later is not seen
    killed = f"; killed {run.left_behind} it left running" if run.left_behind else ""
    return (f"[memory] {case.name} run {len(result.runs)}/{case.runs}: {_figure(run)} "
            f"({run.processes_seen} process(es), {run.duration_s:.2f} s{killed})")


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
