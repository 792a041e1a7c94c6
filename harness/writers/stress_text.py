"""What `harness stress` prints: one line for the concurrent writers, one for the kills."""

from __future__ import annotations

from session_store_harness.measuring.stress import StressReport


def stress_lines(report: StressReport) -> list[str]:
    config, result, crash = report.config, report.concurrency, report.crashes
    lines = [f"[stress] {config.store}{' + reuse' if config.reuse_loaded_store else ''}: "
             f"{result.attempted} updates by {config.writers} writers, {result.lost} lost; "
             f"{result.reads} reads during writes, {result.invalid_reads} invalid; "
             f"leftovers {len(result.leftovers)}"
             + (f"; writer failures {len(result.writer_failures)}"
                if result.writer_failures else "")]
    if crash is not None:
        lines.append(f"[stress] {crash.trials} writers killed: {crash.corrupt} corrupt files, "
                     f"{crash.went_backwards} undone updates; left by the kills: "
                     f"{crash.left_by_kill['temp files']} temp files, "
                     f"{crash.left_by_kill['locks']} locks; left after the next writer: "
                     f"{crash.leftovers_after_next_write}")
    return lines
