"""What `harness conform` prints: a heading, one line per rule, and the tally.

A passing rule shows what it asks; a failing or warning one shows its first piece of evidence
on the same line (so each failing rule is one line naming it and why), the rest indented below.
"""

from __future__ import annotations

from session_store_harness.conformance.conform import ConformReport
from session_store_harness.conformance.rules import FAIL, PASS, SKIP, WARN

LABELS = {PASS: "pass", FAIL: "FAIL", WARN: "warn", SKIP: "skip"}


def conform_lines(report: ConformReport) -> list[str]:
    width = max(len(r.rule) for r in report.results) if report.results else 0
    lines = [_heading(report)]
    for result in report.results:
        first, *more = result.evidence if result.status != PASS else (result.description,)
        lines.append(f"{LABELS[result.status]}  {result.rule:<{width}}  {first}")
        lines += [f"{'':{width + 8}}{line}" for line in more]
    lines.append(_tally(report))
    return lines


def _heading(report: ConformReport) -> str:
    config = report.config
    spec = config.store
    size = f"{spec.target_kb} KB" if spec.target_kb is not None else f"{spec.entries} entries"
    return (f"harness conform: {config.target.spec} ({report.driver.get('runtime', '?')}); "
            f"{spec.profile} store of {size}, seed {spec.seed}; {config.writers} writers x "
            f"{config.updates} updates, {config.crash_trials} kills")


def _tally(report: ConformReport) -> str:
    counts = ", ".join(f"{report.count(status)} {word}" for status, word in (
        (PASS, "passed"), (FAIL, "failed"), (WARN, "warned"), (SKIP, "skipped")))
    failed = f" (failed: {', '.join(r.rule for r in report.failed)})" if report.failed else ""
    return f"{len(report.results)} rules: {counts}{failed}"
