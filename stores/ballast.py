"""A calibration store with a known leak: the whole-file store plus N MiB kept per load.

Its RSS grows by `HARNESS_BALLAST_MB` (default 2) MiB per cycle, so end-to-end figures of the
harness can be checked against a known answer.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from session_store_harness.stores.base import SessionMap
from session_store_harness.stores.wholefile import WholeFileStore, env_int

BALLAST_ENV = "HARNESS_BALLAST_MB"
DEFAULT_BALLAST_MB = 2


class BallastStore(WholeFileStore):
    """`wholefile` that never frees a block of `HARNESS_BALLAST_MB` MiB allocated per load."""

    name: ClassVar[str] = "ballast"

    def __init__(self, path: Path, env: Mapping[str, str] | None = None) -> None:
        super().__init__(path, env)
        self.ballast_bytes = env_int(os.environ if env is None else env, BALLAST_ENV,
                                     DEFAULT_BALLAST_MB) * 1024 * 1024
        self._kept: list[bytes] = []

    def load(self) -> SessionMap:
        # Filled with a non-zero byte so every page is touched and resident.
        self._kept.append(b"\xa5" * self.ballast_bytes)
        return super().load()
