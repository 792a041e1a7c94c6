"""`history.csv`: the history's records as one row each, the twin of `history.jsonl`.

Rendered from the records alone, so the same records always give the same bytes: the history
checks its twin against this rendering before it replaces it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from session_store_harness.model.history import HISTORY_METRICS, HistoryRecord

COLUMNS = ("commit", "commit_time", "branch", "added_at", "source", "store", "store_kind",
           "workload_fingerprint", "environment_fingerprint", "machine", "python", "runtime",
           *(column for name in HISTORY_METRICS for column in (name, f"{name}_repeats")))


def history_csv(records: Sequence[HistoryRecord]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(_row(record) for record in records)
    return out.getvalue()


def _row(record: HistoryRecord) -> list[object]:
    env = record.environment
    machine = (f"{env.get('system')} {env.get('machine')}, {env.get('cpu_count')} CPUs, "
               f"{env.get('memory_gib')} GiB")
    row: list[object] = [record.commit, record.commit_time, record.branch, record.added_at,
                         record.source, record.store.get("written"), record.store.get("kind"),
                         record.workload_fingerprint, record.environment_fingerprint, machine,
                         env.get("python"), env.get("runtime")]
    for name in HISTORY_METRICS:
        point = record.metrics.get(name)
        row += [None, None] if point is None else [point.median, point.repeats]
    return ["" if cell is None else cell for cell in row]
