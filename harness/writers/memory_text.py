"""What `harness check-memory` prints: a line per run, the verdict, the failing output."""

from __future__ import annotations

from session_store_harness.measuring.memcheck import CaseResult
from session_store_harness.model.run import MB


def run_line(result: CaseResult) -> str:
    run, case = result.runs[-1], result.case
    return (f"[memory] {case.name} run {len(result.runs)}/{case.runs}: "
            f"{run.peak_bytes / MB:.1f} MB ({run.processes_seen} process(es), "
            f"{run.duration_s:.2f} s)")


def verdict_line(result: CaseResult) -> str:
    failed = result.failed_run
    if failed is not None:
        return (f"[memory] {result.case.name}: command exited with code {failed.exit_code}; "
                f"last output:\n{failed.output_tail}")
    return (f"[memory] {result.case.name}: {result.peak_mb:.1f} MB peak RSS (limit "
            f"{result.case.limit_mb:g} MB)" + ("" if result.passed else " FAIL"))
