"""A calibration store with a known fixed regression: `snapshot` plus a resident block.

`HARNESS_PAD_KB` (default 0) KiB are allocated and touched when the store is created and held
for its life, so a run's RSS is the `snapshot` run's plus that much: a regression of known size
for `harness calibrate` to catch.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from session_store_harness.stores.snapshot import SnapshotStore
from session_store_harness.stores.wholefile import env_int

PAD_ENV = "HARNESS_PAD_KB"


class PaddedStore(SnapshotStore):
    """`snapshot` holding `HARNESS_PAD_KB` KiB more, from start to end."""

    name: ClassVar[str] = "padded"

    def __init__(self, path: Path, env: Mapping[str, str] | None = None) -> None:
        super().__init__(path, env)
        pad_kb = env_int(os.environ if env is None else env, PAD_ENV, 0)
        self._pad = b"\xa5" * (pad_kb * 1024)  # non-zero bytes: every page resident
