"""A compare folder's `comparison.json` on real run folders: written relative, found again after
the tree moves, and every bad file refused in one line naming the file (and the key)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from session_store_harness.errors import EXIT_USAGE, HarnessError
from session_store_harness.judging.compare import compare_runs
from session_store_harness.model.comparison_folder import (
    COMPARISON,
    SCHEMA_VERSION,
    load_comparison_sources,
)
from session_store_harness.model.result_folder import load_run
from session_store_harness.writers.comparison_json import comparison_json

GOLDEN = Path(__file__).resolve().parent.parent / "golden"


def compared_tree(root: Path) -> Path:
    """`root/runs/{before,after}` (copies of the golden runs) and `root/cmp/comparison.json`,
    written as `harness compare` writes it; returns the compare folder."""
    for name in ("before", "after"):
        shutil.copytree(GOLDEN / name, root / "runs" / name)
    folder = root / "cmp"
    folder.mkdir()
    comparison = compare_runs(load_run(root / "runs" / "before"), load_run(root / "runs" / "after"))
    (folder / COMPARISON).write_text(comparison_json(comparison, folder))
    return folder


def refusal(folder: Path) -> str:
    with pytest.raises(HarnessError) as caught:
        load_comparison_sources(folder)
    assert caught.value.exit_code == EXIT_USAGE
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{folder / COMPARISON}: ")
    return message


def rewrite(folder: Path, **changes: object) -> None:
    path = folder / COMPARISON
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps({k: v for k, v in data.items() if v is not None}))


def test_the_run_folders_are_recorded_relative_with_the_absolute_beside(tmp_path: Path) -> None:
    data = json.loads((compared_tree(tmp_path) / COMPARISON).read_text())
    assert data["schema_version"] == SCHEMA_VERSION == 3
    assert (data["before"], data["after"]) == ("../runs/before", "../runs/after")
    assert data["before_absolute"] == str((tmp_path / "runs" / "before").resolve())
    assert data["after_absolute"] == str((tmp_path / "runs" / "after").resolve())


def test_a_tree_moved_whole_still_finds_its_runs(tmp_path: Path) -> None:
    compared_tree(tmp_path / "tree")
    moved = tmp_path / "elsewhere" / "tree"
    moved.parent.mkdir()
    (tmp_path / "tree").rename(moved)
    before, after = load_comparison_sources(moved / "cmp")
    assert (before, after) == ((moved / "runs" / "before").resolve(),
                               (moved / "runs" / "after").resolve())
    assert load_run(after).complete


def test_a_compare_folder_moved_alone_falls_back_to_the_absolute_paths(tmp_path: Path) -> None:
    folder = compared_tree(tmp_path)
    alone = tmp_path / "deep" / "down" / "cmp"
    alone.parent.mkdir(parents=True)
    folder.rename(alone)
    assert load_comparison_sources(alone) == ((tmp_path / "runs" / "before").resolve(),
                                              (tmp_path / "runs" / "after").resolve())


def test_runs_gone_from_both_places_are_named(tmp_path: Path) -> None:
    folder = compared_tree(tmp_path)
    shutil.rmtree(tmp_path / "runs" / "before")
    message = refusal(folder)
    assert message == (f"{folder / COMPARISON}: run folder before ({tmp_path / 'runs' / 'before'})"
                       f" is gone; it was at {(tmp_path / 'runs' / 'before').resolve()}")


def test_version_1_with_absolute_paths_only_is_still_read(tmp_path: Path) -> None:
    folder = compared_tree(tmp_path)
    rewrite(folder, schema_version=1, before=str((tmp_path / "runs" / "before").resolve()),
            after=str((tmp_path / "runs" / "after").resolve()), before_absolute=None,
            after_absolute=None)
    assert load_comparison_sources(folder)[1] == (tmp_path / "runs" / "after").resolve()


@pytest.mark.parametrize(("changes", "fragment"), [
    ({"schema_version": 4}, "schema_version 4 is not one this harness reads (1, 2 or 3)"),
    ({"schema_version": None}, "schema_version None is not one"),
    ({"schema_version": True}, "schema_version True is not one"),
    ({"before": ["..", "runs", "before"]}, "key 'before' must be a non-empty path string"),
    ({"after": None}, "missing key 'after'"),
    ({"after_absolute": None}, "missing key 'after_absolute'"),
    ({"before_absolute": 7}, "key 'before_absolute' must be a non-empty path string, got 7"),
    ({"after": ""}, "key 'after' must be a non-empty path string"),
])
def test_a_bad_comparison_json_is_refused_naming_the_key(tmp_path: Path,
                                                         changes: dict[str, object],
                                                         fragment: str) -> None:
    folder = compared_tree(tmp_path)
    rewrite(folder, **changes)
    assert fragment in refusal(folder)


@pytest.mark.parametrize(("text", "fragment"), [
    ("[1, 2]", "not a JSON object, got list"),
    ("{not json", "unreadable"),
])
def test_a_comparison_json_that_is_not_an_object_is_refused(tmp_path: Path, text: str,
                                                            fragment: str) -> None:
    (tmp_path / COMPARISON).write_text(text)
    assert fragment in refusal(tmp_path)


def test_each_runs_identity_is_recorded(tmp_path: Path) -> None:
    data = json.loads((compared_tree(tmp_path) / COMPARISON).read_text())
    meta = json.loads((tmp_path / "runs" / "after" / "meta.json").read_text())
    assert data["after_run"] == {"started_at": meta["started_at"],
                                 "finished_at": meta["finished_at"],
                                 "store": meta["config"]["store"],
                                 "store_sha256": meta["store"]["sha256"]}


@pytest.mark.parametrize("how", ["swapped", "re-run"])
def test_another_run_at_the_recorded_path_is_refused(tmp_path: Path, how: str) -> None:
    # GIVEN a comparison, and then another run put where one of its runs was
    folder = compared_tree(tmp_path)
    runs = tmp_path / "runs"
    if how == "swapped":
        (runs / "before").rename(runs / "x")
        (runs / "after").rename(runs / "before")
        (runs / "x").rename(runs / "after")
    else:
        meta = json.loads((runs / "after" / "meta.json").read_text())
        meta["started_at"] = "2030-01-01T00:00:00+00:00"
        (runs / "after" / "meta.json").write_text(json.dumps(meta))
    # THEN loading it names the run that is not the one compared, in one line
    message = refusal(folder)
    role = "before" if how == "swapped" else "after"
    assert f"the run at {(runs / role).resolve()} is not the one this comparison was made " \
        "from" in message


def test_version_2_without_identities_is_still_read(tmp_path: Path) -> None:
    folder = compared_tree(tmp_path)
    rewrite(folder, schema_version=2, before_run=None, after_run=None)
    assert load_comparison_sources(folder)[0] == (tmp_path / "runs" / "before").resolve()


@pytest.mark.parametrize("value", [None, "x", {"started_at": "t"}])
def test_a_bad_identity_is_refused_naming_the_key(tmp_path: Path, value: object) -> None:
    folder = compared_tree(tmp_path)
    path = folder / COMPARISON
    data = json.loads(path.read_text())
    data["before_run"] = value
    path.write_text(json.dumps(data))
    assert "key 'before_run' must be an object" in refusal(folder)
