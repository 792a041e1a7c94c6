"""pandas views of a run for the writers that draw and tabulate (pandas loads only here).

The columns are the result folder's CSV columns, so a table in a report reads like the file.
"""

from __future__ import annotations

import pandas as pd

from session_store_harness.model.result_folder import (
    CYCLE_COLUMNS,
    SAMPLE_COLUMNS,
    TIMELINE_COLUMNS,
    cycles_csv,
    samples_csv,
    timeline_csv,
)
from session_store_harness.model.run import Run


def samples_frame(run: Run) -> pd.DataFrame:
    return _frame(samples_csv(run), SAMPLE_COLUMNS)


def cycles_frame(run: Run) -> pd.DataFrame:
    return _frame(cycles_csv(run), CYCLE_COLUMNS)


def timeline_frame(run: Run) -> pd.DataFrame:
    return _frame(timeline_csv(run), TIMELINE_COLUMNS)


def median_by_cycle(run: Run) -> pd.DataFrame:
    """Sample columns per cycle, the median across repeats."""
    return samples_frame(run).drop(columns="repeat").groupby("cycle", as_index=False).median()


def _frame(text: str, columns: tuple[str, ...]) -> pd.DataFrame:
    # Built from the same CSV text the folder holds: a frame of a run in memory and of the
    # same run loaded from disk are identical, figure for figure.
    from io import StringIO

    frame = pd.read_csv(StringIO(text))
    return frame[list(columns)]
