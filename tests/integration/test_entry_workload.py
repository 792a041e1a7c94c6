"""`--workload entry`: real workers (Python and Node) get one entry and update it, through the
store's own get/update_entry or the loaders' fallback, and runs, sweeps and the gate know it."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from session_store_harness.errors import HarnessError
from session_store_harness.judging.gate import comparable
from session_store_harness.measuring.runner import run_worker
from session_store_harness.model.config import RunConfig, store_options
from session_store_harness.model.result_folder import load_run
from session_store_harness.stores.jsonfile import parse, read_bytes
from tests.conftest import REPO, assert_one_line_error, run_cli

NEEDS_NODE = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
FIXTURES = REPO / "tests" / "fixtures"
CYCLES, KEYS = 7, 3
NATIVE = {"get": "native", "update_entry": "native"}
FALLBACK = {"get": "fallback", "update_entry": "fallback"}


@pytest.mark.parametrize(("store", "runtime", "paths"), [
    ("wholefile", "python", FALLBACK),
    (f"{FIXTURES / 'entry_store.py'}:EntryStore", "python", NATIVE),
    pytest.param("wholefile", "node", FALLBACK, marks=NEEDS_NODE),
    pytest.param(str(FIXTURES / "entry_store.mjs"), "node", NATIVE, marks=NEEDS_NODE)])
def test_entry_cycles_update_the_touched_entries_through_the_path_recorded(
        tmp_path: Path, pr_store: Path, store: str, runtime: str, paths: dict) -> None:
    # GIVEN a store (a built-in, or a user's with get/update_entry of its own that counts its
    # calls in a side file) and the entry workload setting two fields on 3 keys in turn
    calls = tmp_path / "calls.txt"
    keys = list(parse(read_bytes(pr_store), pr_store))[:KEYS]
    config = RunConfig(cycles=CYCLES, sample_every=3, touch_keys=KEYS, workload="entry",
                       touch_fields=("label", "lastChannel"), store_file=pr_store,
                       env=(("ENTRY_STORE_CALLS", str(calls)),), **store_options(store, runtime))
    transcript: list[dict] = []
    # WHEN one real worker runs 7 cycles on the file
    repeat = run_worker(config, pr_store, tmp_path, transcript=transcript)
    # THEN it completed, said which path served each method, and the run records it
    assert repeat.status == "complete", (repeat.error, repeat.worker.stderr_tail)
    assert repeat.worker.entry_api == paths
    assert [m for m in transcript if m["type"] == "entry_api"] == [{"type": "entry_api", **paths}]
    assert [c.cycle for c in repeat.cycles] == list(range(1, CYCLES + 1))
    assert all(c.wrote and not c.reused_base for c in repeat.cycles)
    assert not any("entries" in m for m in transcript if m["type"] == "cycle")  # nothing loaded
    # AND the file holds each key's last update: key i was last touched by cycle 7, 6 or 5
    after = parse(read_bytes(pr_store), pr_store)
    last = {keys[(cycle - 1) % KEYS]: cycle for cycle in range(1, CYCLES + 1)}
    for key, cycle in last.items():
        assert (after[key]["label"], after[key]["lastChannel"]) == (f"cycle {cycle}",
                                                                    f"harness:{cycle}")
    # AND the store's own methods were called once a cycle each, the fallback never calls them
    called = calls.read_text().split() if calls.exists() else []
    assert sorted(called) == (sorted(["get", "update_entry"] * CYCLES) if paths == NATIVE
                              else [])


def run_ok(folder: Path, store_file: Path, *args: str) -> dict:
    result = run_cli("run", "--store", "wholefile", "--store-file", str(store_file), "--cycles",
                     "3", "--sample-every", "3", "--repeat", "1", "--run-dir", str(folder),
                     *args)
    assert result.returncode == 0, result.stderr
    return json.loads((folder / "meta.json").read_text())


def test_a_full_run_and_an_entry_run_are_not_comparable(tmp_path: Path, pr_store: Path) -> None:
    # GIVEN the same store measured with each workload
    full = run_ok(tmp_path / "full", pr_store)
    entry = run_ok(tmp_path / "entry", pr_store, "--workload", "entry")
    # THEN each records its workload, and the entry run how get and update_entry were served
    assert (full["schema_version"], full["config"]["workload"]) == (5, "full")
    assert full["repeats"][0]["worker"]["entry_api"] is None
    assert entry["config"]["workload"] == "entry" and entry["config"]["label"] == \
        "wholefile-entry"
    assert entry["repeats"][0]["worker"]["entry_api"] == FALLBACK
    # AND the gate refuses to judge one against the other unless told the difference is meant
    before, after = load_run(tmp_path / "full"), load_run(tmp_path / "entry")
    with pytest.raises(HarnessError, match=r"the workload \(--workload\) differs \(full vs "
                                           r"entry\).*--allow-different workload"):
        comparable(before, after)
    assert [m.key for m in comparable(before, after, ["workload"]).mismatches] == ["workload"]
    gated = run_cli("gate", str(tmp_path / "entry"), "--baseline", str(tmp_path / "full"),
                    "--max-regression", "50%")
    assert_one_line_error(gated, 2, "runs are not comparable", "the workload (--workload)")


def test_a_sweep_over_both_workloads_writes_each_cell_with_its_workload(tmp_path: Path) -> None:
    # GIVEN a sweep of one small store over both workloads, with and without reuse
    out = tmp_path / "sweep"
    result = run_cli("sweep", "--sizes", "20", "--stores", "wholefile", "--workload",
                     "full,entry", "--profile", "pr", "--cycles", "2", "--sample-every", "2",
                     "--repeat", "1", "-o", str(out))
    assert result.returncode == 0, result.stderr
    # THEN full runs with and without reuse, entry once (it loads no store to reuse)
    names = ["wholefile-20kb", "wholefile-reuse-20kb", "wholefile-entry-20kb"]
    cells = json.loads((out / "sweep.json").read_text())["cells"]
    assert [(c["name"], c["workload"]) for c in cells] == list(zip(
        names, ["full", "full", "entry"], strict=True))
    assert all((out / name / "meta.json").is_file() for name in names)
    assert load_run(out / "wholefile-entry-20kb").config.workload == "entry"
    # AND sweep.csv has a row per cell with its workload, for reports to group by
    with (out / "sweep.csv").open() as table:
        rows = list(csv.DictReader(table))
    assert [(r["cell"], r["workload"], r["status"]) for r in rows] == [
        (name, workload, "complete") for name, workload in zip(
            names, ["full", "full", "entry"], strict=True)]


def test_the_bench_entry_operations_call_the_stores_own_methods(
        tmp_path: Path, pr_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from session_store_harness.measuring.bench_ops import entry_get, entry_paths, entry_update
    from session_store_harness.stores.wholefile import WholeFileStore
    from session_store_harness.worker.store_loader import load_store_class

    # GIVEN the user's store with its own methods, counting its calls
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("ENTRY_STORE_CALLS", str(calls))
    store_class = load_store_class(f"{FIXTURES / 'entry_store.py'}:EntryStore")
    first = next(iter(parse(read_bytes(pr_store), pr_store)))
    # WHEN pyperf's timed functions run a few loops of each entry operation
    assert entry_get(3, store_class, pr_store) > 0
    assert entry_update(4, store_class, pr_store) > 0
    # THEN each loop was one call of the store's own method, and the last update is on disk
    assert sorted(calls.read_text().split()) == ["get"] * 3 + ["update_entry"] * 4
    assert parse(read_bytes(pr_store), pr_store)[first]["label"] == "bench 3"
    assert entry_paths(store_class, pr_store) == "get native, update_entry native"
    assert entry_paths(WholeFileStore, pr_store) == "get fallback, update_entry fallback"


def test_ab_measures_both_sides_in_the_entry_workload(tmp_path: Path) -> None:
    # GIVEN two stores measured interleaved, each cycle one message's get and update
    out = tmp_path / "ab"
    result = run_cli("ab", "wholefile", "snapshot", "--workload", "entry", "--profile", "pr",
                     "--target-kb", "20", "--cycles", "2", "--sample-every", "2", "--repeat",
                     "1", "-o", str(out))
    assert result.returncode == 0, result.stderr
    # THEN both sides ran it, through the fallback, and are comparable with each other
    before, after = load_run(out / "before"), load_run(out / "after")
    assert (before.config.workload, after.config.workload) == ("entry", "entry")
    assert before.entry_api == after.entry_api == FALLBACK
    assert "workload" not in [m.key for m in comparable(before, after, ["store-file"]).mismatches]
    # AND a side asking to reuse a loaded store it will never load is refused in one line
    refused = run_cli("ab", "wholefile", "snapshot+reuse", "--workload", "entry", "--profile",
                      "pr", "--target-kb", "20", "--repeat", "1", "-o", str(tmp_path / "ab2"))
    assert_one_line_error(refused, 2, "--workload entry loads no whole store")
    assert not (tmp_path / "ab2").exists()
