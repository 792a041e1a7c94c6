"""The sweep matrix and its shards."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from session_store_harness.errors import HarnessError
from session_store_harness.measuring.sweep import matrix, parse_shard, parse_sizes, shard


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
