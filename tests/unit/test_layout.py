"""Each repeat's worker layout: drawn from a seed, recorded, and read back from old folders."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest

from session_store_harness.judging.compare import _measured_apart
from session_store_harness.measuring.ab import repeat_order
from session_store_harness.measuring.runner import (
    MAX_HASH_SEED,
    MAX_PAD_BYTES,
    PAD_VARIABLE,
    draw_layout,
    layout_env,
    layouts,
)
from session_store_harness.model.result_folder import load_run

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def test_a_python_layout_has_padding_and_a_hash_seed_in_range() -> None:
    rng = random.Random(1)
    drawn = [draw_layout(rng, "python", {}) for _ in range(200)]
    assert all(0 <= d["pad_bytes"] <= MAX_PAD_BYTES for d in drawn)
    assert all(0 <= d["hash_seed"] <= MAX_HASH_SEED for d in drawn)
    assert len({d["pad_bytes"] for d in drawn}) > 100  # they do vary


def test_the_same_seed_draws_the_same_layouts() -> None:
    first, second = layouts(42, "python", {}), layouts(42, "python", {})
    assert [next(first) for _ in range(5)] == [next(second) for _ in range(5)]
    assert [next(layouts(42, "python", {}))] != [next(layouts(43, "python", {}))]


def test_node_gets_padding_only_with_the_same_pads() -> None:
    python, node = layouts(5, "python", {}), layouts(5, "node", {})
    for _ in range(5):
        assert next(node) == {"pad_bytes": next(python)["pad_bytes"]}


def test_a_user_hash_seed_wins_and_is_recorded_as_fixed() -> None:
    drawn = [next(layouts(9, "python", {"PYTHONHASHSEED": "123"})) for _ in range(2)]
    assert drawn[0] == {"pad_bytes": drawn[0]["pad_bytes"], "hash_seed": 123,
                        "hash_seed_fixed": 1}
    assert "PYTHONHASHSEED" not in layout_env(drawn[0])  # --env passes the user's own
    assert next(layouts(9, "python", {"PYTHONHASHSEED": "random"})).keys() == {
        "pad_bytes", "hash_seed_fixed"}


def test_no_seed_is_the_fixed_layout() -> None:
    fixed = layouts(None, "python", {})
    assert [next(fixed) for _ in range(3)] == [None] * 3
    assert layout_env(None) == {}


def test_layout_env_sets_padding_and_hash_seed() -> None:
    assert layout_env({"pad_bytes": 3, "hash_seed": 77}) == {PAD_VARIABLE: "xxx",
                                                             "PYTHONHASHSEED": "77"}
    assert layout_env({"pad_bytes": 0}) == {PAD_VARIABLE: ""}


def test_abba_order_and_a_seeded_random_order() -> None:
    assert repeat_order("abba", 3) == ("before", "after", "after", "before", "before", "after")
    shuffled = repeat_order("random", 10, seed=4)
    assert shuffled == repeat_order("random", 10, seed=4)
    assert shuffled.count("before") == shuffled.count("after") == 10


@pytest.mark.parametrize("side", ["before", "after"])
def test_folders_without_layouts_still_load(side: str) -> None:
    run = load_run(GOLDEN / side)
    assert run.layout_seed is None and run.interleaved_with is None
    assert all(r.layout is None and r.started_at is None for r in run.repeats)


def test_runs_measured_interleaved_are_not_measured_apart() -> None:
    before, after = load_run(GOLDEN / "before"), load_run(GOLDEN / "after")
    # times that say one after the other: only the recorded interleaving says otherwise
    before = replace(before, started_at="2024-01-01T00:00:00", finished_at="2024-01-01T00:01:00")
    after = replace(after, started_at="2024-01-01T00:02:00", finished_at="2024-01-01T00:03:00")
    assert _measured_apart(before, after)
    before = replace(before, folder=Path("x/before"), interleaved_with="after")
    after = replace(after, folder=Path("x/after"), interleaved_with="before")
    assert not _measured_apart(before, after)
    assert _measured_apart(before, replace(after, interleaved_with=None))
