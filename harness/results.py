"""Read a run's result folder back (meta.json and CSVs) for the judges and plot writers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from harness.errors import HarnessError

CSV_FILES = ("samples", "cycles", "timeline")


@dataclass(frozen=True)
class RunData:
    """A run as read from disk: its meta.json and one DataFrame per CSV."""

    folder: Path
    meta: dict[str, Any]
    samples: pd.DataFrame
    cycles: pd.DataFrame
    timeline: pd.DataFrame

    @property
    def name(self) -> str:
        config = self.meta.get("config", {})
        return config.get("label") or self.folder.name

    @property
    def complete(self) -> bool:
        return bool(self.meta.get("complete"))

    @property
    def repeats(self) -> int:
        return int(self.samples["repeat"].nunique())

    @property
    def last_cycle(self) -> int:
        return int(self.samples["cycle"].max())

    def median_by_cycle(self) -> pd.DataFrame:
        """Sample columns per cycle, the median across repeats."""
        return self.samples.drop(columns="repeat").groupby("cycle", as_index=False).median()


def load_run(folder: Path) -> RunData:
    """Load a result folder; a missing or unreadable piece is a one-line error."""
    if not folder.is_dir():
        raise HarnessError(f"{folder}: not a folder")
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        raise HarnessError(f"{folder}: not a run folder (no meta.json)")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as exc:
        raise HarnessError(f"{meta_path}: unreadable ({exc})") from None
    frames = {name: _read_csv(folder / f"{name}.csv") for name in CSV_FILES}
    if frames["samples"].empty:
        raise HarnessError(f"{folder}: run has no samples")
    return RunData(folder=folder, meta=meta, **frames)


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise HarnessError(f"{path}: missing")
    try:
        return pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise HarnessError(f"{path}: unreadable CSV ({exc})") from None
