"""`harness ab` and randomized layouts end to end: real workers, small stores, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from session_store_harness.generating.generator import GenerateSpec
from session_store_harness.measuring.measure import measure
from session_store_harness.model.config import RunConfig
from session_store_harness.model.result_folder import load_run
from tests.conftest import assert_one_line_error, run_cli

SMALL = ("--profile", "pr", "--target-kb", "50", "--cycles", "4", "--sample-every", "2",
         "--repeat", "4")


def ab(folder: Path, *extra: str) -> None:
    result = run_cli("ab", "wholefile", "snapshot+reuse", "-o", str(folder), *SMALL, *extra)
    assert result.returncode == 0, result.stderr


def layouts_of(folder: Path) -> list[dict | None]:
    return [r["layout"] for r in json.loads((folder / "meta.json").read_text())["repeats"]]


def test_ab_interleaves_two_loadable_runs_that_gate_judges_as_measured_together(
        tmp_path: Path) -> None:
    out = tmp_path / "ab"
    ab(out)
    before, after = load_run(out / "before"), load_run(out / "after")
    assert before.complete and after.complete
    assert (before.config.store, after.config.store) == ("wholefile", "snapshot")
    assert after.config.reuse_loaded_store and not before.config.reuse_loaded_store
    assert before.store == after.store  # one shared store
    # the workers really started in ABBA order, as recorded
    started = sorted([(r.started_at, "before") for r in before.repeats]
                     + [(r.started_at, "after") for r in after.repeats])
    abba = ["before", "after", "after", "before"] * 2
    assert [side for _, side in started] == abba
    assert list(before.interleaved_order) == abba == json.loads(
        (out / "ab.json").read_text())["sequence"]
    assert (before.interleaved_with, after.interleaved_with) == ("after", "before")
    # one metric: 4 a side can be significant at 0.05, not at 0.05 split over three
    gate = run_cli("gate", str(out / "after"), "--baseline", str(out / "before"),
                   "--max-regression", "50%", "--metrics", "rss_steady_mb")
    assert gate.returncode == 0, gate.stdout + gate.stderr
    assert "measured apart" not in gate.stdout + gate.stderr


def test_layouts_differ_between_repeats_and_a_layout_seed_reproduces_them(
        tmp_path: Path) -> None:
    ab(tmp_path / "one", "--layout-seed", "11", "--order", "random", "--order-seed", "3")
    ab(tmp_path / "two", "--layout-seed", "11", "--order", "random", "--order-seed", "3")
    for side in ("before", "after"):
        drawn = layouts_of(tmp_path / "one" / side)
        assert len({layout["pad_bytes"] for layout in drawn}) == 4
        assert all(set(layout) == {"pad_bytes", "hash_seed"} for layout in drawn)
        assert drawn == layouts_of(tmp_path / "two" / side)
    # each side is drawn independently of the other
    assert layouts_of(tmp_path / "one" / "before") != layouts_of(tmp_path / "one" / "after")
    plans = [json.loads((tmp_path / name / "ab.json").read_text()) for name in ("one", "two")]
    assert plans[0]["sequence"] == plans[1]["sequence"] and plans[0]["layout_seed"] == 11


def test_ab_with_a_fixed_layout_records_no_padding(tmp_path: Path) -> None:
    ab(tmp_path / "ab", "--fixed-layout", "--repeat", "1")
    for side in ("before", "after"):
        assert layouts_of(tmp_path / "ab" / side) == [None]
        assert load_run(tmp_path / "ab" / side).layout_seed is None


def test_harness_run_draws_a_recorded_layout_per_repeat(tmp_path: Path) -> None:
    result = run_cli("run", "--store", "wholefile", *SMALL, "--repeat", "2",
                     "--run-dir", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert isinstance(meta["layout_seed"], int) and meta["interleaved_with"] is None
    assert all(isinstance(layout["pad_bytes"], int) for layout in layouts_of(tmp_path / "run"))


def test_a_fixed_layout_run_records_no_padding(tmp_path: Path) -> None:
    config = RunConfig(store="wholefile", cycles=2, sample_every=2, repeat=2,
                       generate=GenerateSpec("pr", seed=1, target_kb=50))
    (tmp_path / "run").mkdir()  # measure() fills a new, empty folder
    run = measure(config, tmp_path / "run", fixed_layout=True)
    assert run.complete and run.layout_seed is None
    assert layouts_of(tmp_path / "run") == [None, None]


def test_a_user_hash_seed_wins_in_every_repeat(tmp_path: Path) -> None:
    ab(tmp_path / "ab", "--env", "PYTHONHASHSEED=5", "--repeat", "2", "--layout-seed", "1")
    drawn = layouts_of(tmp_path / "ab" / "before")
    assert [(d["hash_seed"], d["hash_seed_fixed"]) for d in drawn] == [(5, 1), (5, 1)]


def test_run_with_fixed_layout_records_no_padding(tmp_path: Path) -> None:
    folder = tmp_path / "fixed"
    result = run_cli("run", "--store", "snapshot", "--profile", "pr", "--target-kb", "30",
                     "--cycles", "2", "--repeat", "2", "--fixed-layout", "--run-dir", str(folder))
    assert result.returncode == 0, result.stderr
    meta = json.loads((folder / "meta.json").read_text())
    assert all(not repeat.get("layout") for repeat in meta["repeats"])


def sequential(folder: Path, before: str, after: str, *extra: str):
    return run_cli("ab", before, after, "-o", str(folder), "--profile", "pr", "--target-kb",
                   "50", "--cycles", "4", "--sample-every", "2", "--repeat", "5",
                   "--max-repeat", "9", "--metrics", "rss_steady_mb", *extra)


def test_a_sequential_run_stops_at_the_first_look_when_a_regression_is_clear(
        tmp_path: Path) -> None:
    # GIVEN padded holding 4 MiB more than snapshot (the variable is given to both sides;
    # snapshot ignores it), gated at 1% on steady RSS, looks at 5, 7 and 9 a side
    result = sequential(tmp_path / "ab", "snapshot+reuse", "padded+reuse",
                        "--max-regression", "1%", "--env", "HARNESS_PAD_KB=4096")
    assert result.returncode == 0, result.stderr
    plan = json.loads((tmp_path / "ab" / "ab.json").read_text())
    # THEN one look was enough: the failure is clear at 5 a side (p = 0.0079 < 0.05 / 3)
    assert plan["planned_looks"] == [5, 7, 9]
    assert plan["looks"] == [{"repeats": 5, "clear": True, "metrics": {"rss_steady_mb": "fail"}}]
    assert len(plan["sequence"]) == 10
    before, after = load_run(tmp_path / "ab" / "before"), load_run(tmp_path / "ab" / "after")
    assert before.complete and after.complete and len(after.repeats) == 5
    assert (after.planned_looks, after.max_repeat) == (3, 9)
    assert "5 repeats a side were needed (the gate's outcome was clear" in result.stdout
    # AND the gate judges it at the level the design spent: 0.05 / (1 metric x 3 looks)
    gate = run_cli("gate", str(tmp_path / "ab" / "after"), "--baseline",
                   str(tmp_path / "ab" / "before"), "--max-regression", "1%",
                   "--metrics", "rss_steady_mb")
    assert gate.returncode == 1, gate.stdout + gate.stderr
    assert "p < 0.01667" in gate.stdout and "3 planned looks" in gate.stdout


def test_an_a_a_run_stops_when_no_change_is_shown_under_the_threshold(tmp_path: Path) -> None:
    result = sequential(tmp_path / "ab", "snapshot+reuse", "snapshot+reuse",
                        "--max-regression", "5%")
    assert result.returncode == 0, result.stderr
    looks = json.loads((tmp_path / "ab" / "ab.json").read_text())["looks"]
    assert looks[0]["repeats"] == 5 and looks[-1]["clear"], looks
    assert all(m == "pass" for m in looks[-1]["metrics"].values())
    gate = run_cli("gate", str(tmp_path / "ab" / "after"), "--baseline",
                   str(tmp_path / "ab" / "before"), "--max-regression", "5%",
                   "--metrics", "rss_steady_mb")
    assert gate.returncode == 0, gate.stdout + gate.stderr


def test_a_sequential_design_that_cannot_work_is_refused_before_anything_runs(
        tmp_path: Path) -> None:
    no_threshold = sequential(tmp_path / "a", "snapshot", "wholefile")
    assert_one_line_error(no_threshold, 2, "--max-repeat needs --max-regression")
    too_few = run_cli("ab", "snapshot", "wholefile", "-o", str(tmp_path / "b"), "--repeat", "4",
                      "--max-repeat", "12", "--max-regression", "5%")
    assert_one_line_error(too_few, 2, "--repeat 4 can never be significant", "--repeat 6")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
