"""What `harness check-worker` prints: the worker checked, each finding, and the verdict."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from session_store_harness.judging.worker_contract import Finding, WorkerVerdict
from session_store_harness.measuring.worker_check import WorkerCheckRun

SHOWN_PER_KIND = 3  # a break repeats on every cycle or entry: its first few say it


def check_lines(check: WorkerCheckRun, verdict: WorkerVerdict) -> list[str]:
    """A heading, one line per finding (`FAIL rule: how`), then the verdict, last."""
    config = check.config
    lines = [f"[check-worker] {config.describe_store()}: {config.cycles} cycles on a store of "
             f"{len(check.original)} entries, touching {','.join(config.touch_fields)}"]
    lines += [f"[check-worker] FAIL {line}" for line in shown(verdict.findings)]
    if verdict.ok:
        entries = ("every load returned the file's entries" if verdict.entries_checked
                   else "loads' entry counts not reported (the cycle messages carry no "
                   "`entries`), not checked")
        lines.append(f"[check-worker] ok: {verdict.cycles} cycles and {verdict.samples} "
                     f"samples as the protocol says, done, exit 0; every update persisted, no "
                     f"other entry changed, the file is still a JSON object of objects; "
                     f"{entries}")
    else:
        lines.append(f"[check-worker] {len(verdict.findings)} problem(s): the worker breaks "
                     "the protocol or the store contract (docs/worker-protocol.md, "
                     "docs/store-interface.md)")
    return lines


def shown(findings: Sequence[Finding]) -> Iterator[str]:
    """Each finding's line, the first `SHOWN_PER_KIND` of a kind, then how many more."""
    counts: dict[tuple[str, str], int] = {}
    for finding in findings:
        key = (finding.rule, finding.kind or finding.detail)
        counts[key] = counts.get(key, 0) + 1
        if counts[key] <= SHOWN_PER_KIND:
            yield finding.line()
        elif counts[key] == SHOWN_PER_KIND + 1:
            more = sum(1 for f in findings if (f.rule, f.kind or f.detail) == key)
            yield f"{finding.rule}: ... and {more - SHOWN_PER_KIND} more like these"
