"""The workload as configuration: checked once, passed to the worker only when not the
default, part of what makes runs comparable, a sweep dimension, and absent from old folders."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from session_store_harness.errors import HarnessError
from session_store_harness.judging.compare import mismatches
from session_store_harness.measuring.runner import protocol_arguments
from session_store_harness.measuring.sweep import matrix
from session_store_harness.model.config import RunConfig, parse_workloads, run_config
from session_store_harness.model.result_folder import load_run, write_run
from session_store_harness.settings.project_config import load_project
from session_store_harness.settings.run_values import run_values
from session_store_harness.writers.sweep_csv import sweep_csv
from tests.fakes import fake_run

STORE = Path("/nowhere/sessions.json")


def config(**options) -> RunConfig:
    return RunConfig(store="wholefile", cycles=3, sample_every=1, store_file=STORE, **options)


def test_the_worker_is_told_the_workload_only_when_it_is_not_the_default() -> None:
    assert "--workload" not in protocol_arguments(config(), STORE, 3, 4)
    arguments = protocol_arguments(config(workload="entry"), STORE, 3, 4)
    assert arguments[arguments.index("--workload") + 1] == "entry"


@pytest.mark.parametrize(("options", "error"), [
    ({"workload": "message"}, "--workload must be one of full, entry, got 'message'"),
    ({"workload": "entry", "reuse_loaded_store": True},
     "--workload entry loads no whole store: drop one"),
])
def test_a_bad_workload_is_one_line(options: dict, error: str) -> None:
    with pytest.raises(HarnessError, match=error):
        config(**options)


def test_a_sweeps_workloads_are_parsed_and_checked() -> None:
    assert parse_workloads("full, entry,full") == ("full", "entry")
    for text in ("", "full,bulk"):
        with pytest.raises(HarnessError, match="--workload"):
            parse_workloads(text)


def test_the_matrix_crosses_workloads_and_never_reuses_in_an_entry_cell() -> None:
    cells = matrix([100], ["wholefile", "snapshot"], "both", workloads=("full", "entry"))
    assert [c.name for c in cells] == [
        "wholefile-100kb", "wholefile-reuse-100kb", "wholefile-entry-100kb",
        "snapshot-100kb", "snapshot-reuse-100kb", "snapshot-entry-100kb"]
    assert [c.as_dict()["workload"] for c in cells[:3]] == ["full", "full", "entry"]
    with pytest.raises(HarnessError, match="leaves no cell"):
        matrix([100], ["wholefile"], "yes", workloads=("entry",))


def test_a_sweep_cell_written_before_workloads_is_a_full_one() -> None:
    run = fake_run("old", [20.0, 21.0], 10.0, 22.0)
    old_cell = {"name": "wholefile-100kb", "size_kb": 100, "store": "wholefile", "reuse": False}
    header, row = sweep_csv([old_cell], {"wholefile-100kb": run}).splitlines()
    assert header.split(",")[:6] == ["cell", "size_kb", "store", "reuse", "workload", "status"]
    assert row.split(",")[4] == "full"


def test_a_folder_written_before_workloads_loads_as_a_full_run(tmp_path: Path) -> None:
    # GIVEN a schema 4 folder: no workload in its config, no entry_api in its workers
    folder = tmp_path / "run"
    folder.mkdir()
    write_run(fake_run("old", [20.0, 21.0], 10.0, 22.0), folder)
    meta = json.loads((folder / "meta.json").read_text())
    del meta["config"]["workload"]
    for repeat in meta["repeats"]:
        del repeat["worker"]["entry_api"]
    (folder / "meta.json").write_text(json.dumps({**meta, "schema_version": 4}))
    # THEN it loads as a full run, comparable with a full run of today
    old = load_run(folder)
    assert old.config.workload == "full" and old.entry_api is None
    assert not [m for m in mismatches(old, old) if m.key == "workload"]
    entry = replace(old, config=replace(old.config, workload="entry"))
    assert [m.key for m in mismatches(old, entry)] == ["workload"]


def test_the_configuration_file_sets_the_workload(tmp_path: Path) -> None:
    (tmp_path / "harness.toml").write_text('workload = "entry"\ncycles = 3\n')
    project = load_project(cwd=tmp_path)
    values = {"store": "wholefile", "store_file": STORE, "profile": "realistic",
              "target_kb": None, "entries": None, "seed": 1, "cycles": 50, "sample_every": 10,
              "workload": "full"}
    assert run_config(**run_values(project, values, set())).workload == "entry"
    assert run_config(**run_values(project, values, {"workload"})).workload == "full"
    (tmp_path / "harness.toml").write_text('workload = "bulk"\n')
    with pytest.raises(HarnessError, match=r"harness\.toml: workload: must be 'full' or 'entry'"):
        load_project(cwd=tmp_path)
