"""The sweep matrix and its shards."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from session_store_harness.errors import HarnessError
from session_store_harness.measuring.sweep import (
    matrix,
    parse_shard,
    parse_sizes,
    run_order,
    shard,
)
from session_store_harness.model.sweep_folder import is_sweep_folder, load_sweep


@given(sizes=st.lists(st.integers(1, 10**6), min_size=1, max_size=6),
       stores=st.lists(st.sampled_from(["wholefile", "snapshot", "ballast", "padded"]),
                       min_size=1, max_size=4, unique=True),
       reuse=st.sampled_from(["no", "yes", "both"]), count=st.integers(1, 12))
def test_shards_cover_the_matrix_exactly_once(sizes: list[int], stores: list[str], reuse: str,
                                              count: int) -> None:
    cells = matrix(sizes, stores, reuse)
    shards = [shard(cells, index, count) for index in range(1, count + 1)]
    together = [cell for part in shards for cell in part]
    assert sorted(together) == sorted(cells)  # the union is the matrix...
    assert len(together) == len(set(together))  # ...and no cell runs twice
    assert max(map(len, shards)) - min(map(len, shards)) <= 1  # and the work is balanced


def test_matrix_order_and_names() -> None:
    cells = matrix([7600, 1000], ["wholefile", "snapshot"], "both")
    assert [c.name for c in cells[:4]] == ["wholefile-1000kb", "wholefile-reuse-1000kb",
                                           "snapshot-1000kb", "snapshot-reuse-1000kb"]
    assert len(cells) == 8


@pytest.mark.parametrize("text", ["0/3", "4/3", "a/b", "3", "1/0"])
def test_bad_shards_are_refused(text: str) -> None:
    with pytest.raises(HarnessError):
        parse_shard(text)


@pytest.mark.parametrize("text", ["", "0", "-5,10", "1,x"])
def test_bad_sizes_are_refused(text: str) -> None:
    with pytest.raises(HarnessError):
        parse_sizes(text)


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "sweep.json: unreadable"),
    ('{"matrix": []}', "sweep.json: not a sweep file (matrix and cells lists)"),
    ('{"matrix": [{"size_kb": 1}], "cells": []}', "sweep.json: a cell without a name"),
    ('{"matrix": [{"name": "a-1kb"}], "cells": [{"name": "a-1kb"}]}',
     ": sweep has no measured cell"),
])
def test_a_bad_sweep_folder_is_one_line_naming_the_file(tmp_path: Path, content: str,
                                                         message: str) -> None:
    (tmp_path / "sweep.json").write_text(content)
    with pytest.raises(HarnessError, match=re.escape(message)):
        load_sweep(tmp_path)


def test_a_folder_without_sweep_json_is_not_a_sweep(tmp_path: Path) -> None:
    assert not is_sweep_folder(tmp_path)
    with pytest.raises(HarnessError, match="not a sweep folder"):
        load_sweep(tmp_path)


def test_run_order_is_the_matrix_or_a_seeded_permutation_of_it() -> None:
    cells = list(range(40))
    assert run_order(cells, "matrix", None) == cells
    shuffled = run_order(cells, "random", 7)
    assert sorted(shuffled) == cells and shuffled != cells
    assert run_order(cells, "random", 7) == shuffled  # the recorded seed repeats it
    with pytest.raises(HarnessError, match="--order must be one of random, matrix"):
        run_order(cells, "by-size", 1)
