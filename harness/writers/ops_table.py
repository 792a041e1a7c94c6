"""The table of each store's whole-store operations per cycle (measuring/store_ops.py)."""

from __future__ import annotations

from collections.abc import Sequence

from session_store_harness.measuring.store_ops import OpCount
from session_store_harness.stores.wholefile import OPS
from session_store_harness.writers.table import format_cell, markdown_table

HEADERS = {"read": "reads", "parse": "parses", "clone": "clones", "stringify": "stringifies",
           "digest": "SHA-256 digests", "write": "writes"}


def ops_markdown(counts: Sequence[OpCount]) -> str:
    """One row per store, reuse and cache setting; a count the runtimes disagree on shows as
    `python / node`, so the table itself shows whether the two implementations match."""
    rows: dict[tuple[bool, str, bool], dict[str, list[float]]] = {}
    for count in counts:
        row = rows.setdefault((count.cached, count.store, count.reuse), {op: [] for op in OPS})
        for op in OPS:
            row[op].append(count.get(op))
    headers = ["store", "reuse", "store size", *(HEADERS[op] for op in OPS)]
    table = [[store, "yes" if reuse else "no",
              "within cache limit" if cached else "over cache limit",
              *(_cell(values[op]) for op in OPS)]
             for (cached, store, reuse), values in rows.items()]
    return markdown_table(headers, table, align_right_from=3)


def _cell(values: list[float]) -> str:
    texts = [format_cell(int(v) if float(v).is_integer() else v, 2) for v in values]
    return texts[0] if len(set(texts)) == 1 else " / ".join(texts)
