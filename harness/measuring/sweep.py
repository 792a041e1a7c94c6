"""A matrix of runs (sizes x stores x reuse), its shards for CI jobs, and merging them. Pure."""

from __future__ import annotations

import itertools
import re
from dataclasses import asdict, dataclass
from typing import Any

from session_store_harness.errors import HarnessError

REUSE_CHOICES = {"no": (False,), "yes": (True,), "both": (False, True)}


@dataclass(frozen=True, order=True)
class Cell:
    """One run of the matrix."""

    size_kb: int
    store: str
    reuse: bool

    @property
    def name(self) -> str:
        return f"{self.store}{'-reuse' if self.reuse else ''}-{self.size_kb}kb"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "name": self.name}


def matrix(sizes_kb: list[int], stores: list[str], reuse: str) -> list[Cell]:
    """Every cell, in a fixed order so every shard of every CI job agrees on it."""
    if reuse not in REUSE_CHOICES:
        raise HarnessError(f"--reuse must be one of {', '.join(REUSE_CHOICES)}, got {reuse!r}")
    if not sizes_kb or not stores:
        raise HarnessError("a sweep needs at least one size and one store")
    return [Cell(size, store, flag) for size, store, flag in
            itertools.product(sorted(set(sizes_kb)), stores, REUSE_CHOICES[reuse])]


def parse_shard(text: str) -> tuple[int, int]:
    """`I/N`, 1-based: shard I of N."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise HarnessError(f"--shard takes I/N such as 2/4, got {text!r}")
    index, count = int(match.group(1)), int(match.group(2))
    if not 1 <= index <= count:
        raise HarnessError(f"--shard {text}: I must be between 1 and N")
    return index, count


def shard(cells: list[Cell], index: int, count: int) -> list[Cell]:
    """Every N-th cell starting at the I-th: the N shards split the matrix exactly."""
    return cells[index - 1::count]


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise HarnessError(f"--sizes takes KB figures separated by commas, got {text!r}") from None
    if not sizes or any(size <= 0 for size in sizes):
        raise HarnessError(f"--sizes must be positive KB figures, got {text!r}")
    return sizes


def missing_cells(expected: list[dict[str, Any]], present: set[str]) -> list[str]:
    return [cell["name"] for cell in expected if cell["name"] not in present]
