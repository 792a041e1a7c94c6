"""What `harness stress` prints: one line for the concurrent writers, one for the kills."""

from __future__ import annotations

from session_store_harness.measuring.stress import ConcurrencyResult, StressReport


def stress_lines(report: StressReport) -> list[str]:
    config, result, crash = report.config, report.concurrency, report.crashes
    name = (f"{config.store}{' + reuse' if config.reuse_loaded_store else ''}"
            f"{' (node)' if config.runtime == 'node' else ''}")
    lines = [f"[stress] {name}: {result.attempted} updates by {config.writers} writers, "
             f"{result.lost} lost, {result.completed_total} completed{_gave_up(result)}; "
             f"{result.reads} reads during and after the writes, {result.invalid_reads} "
             f"invalid; leftovers {len(result.leftovers)}"
             + (f"; writer failures {len(result.writer_failures)}"
                if result.writer_failures else "")]
    if crash is not None:
        lines.append(f"[stress] {crash.trials} writers killed: {crash.corrupt} corrupt files, "
                     f"{crash.went_backwards} undone updates; left by the kills: "
                     f"{crash.left_by_kill['temp files']} temp files, "
                     f"{crash.left_by_kill['locks']} locks; left after the next writer: "
                     f"{crash.leftovers_after_next_write}"
                     + (f"; failed writes after a kill {crash.next_write_failures}"
                        if crash.next_write_failures else ""))
    return lines


def _gave_up(result: ConcurrencyResult) -> str:
    """Writers that timed out waiting for the lock: their updates were never made, not lost."""
    if not result.timeouts:
        return ""
    return (f" ({len(result.timeouts)} of {result.writers} writers gave up waiting for the "
            "lock: timeouts)")
