"""`harness conform` on real stores: the built-ins pass every rule, each deliberately broken
store fails the rule its flaw breaks, and bad input is one line, exit 2."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from session_store_harness.conformance.conform import ConformConfig, conform_store
from session_store_harness.conformance.rules import FAIL, PASS, RULES, SKIP
from session_store_harness.generating.generator import GenerateSpec
from session_store_harness.measuring.targets import target_of
from session_store_harness.model.store_spec import parse_store_spec
from tests.conftest import REPO, assert_one_line_error, run_cli

NEEDS_NODE = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")


def node_sqlite_missing() -> str | None:
    """Why the Node sqlite store cannot run here, in the words of its preflight; None if it can."""
    if shutil.which("node") is None:
        return "Node.js is not installed"
    found = subprocess.run(["node", "-e", "import('node:sqlite').then(() => 0, () => "
                            "{ console.log(process.version); process.exit(1); })"],
                           capture_output=True, text=True, timeout=60)
    return None if found.returncode == 0 else (
        f"the Node sqlite store needs node:sqlite, Node >= 22.5; this is {found.stdout.strip()}")


NODE_SQLITE_MISSING = node_sqlite_missing()
NODE_SQLITE = pytest.mark.skipif(NODE_SQLITE_MISSING is not None, reason=str(NODE_SQLITE_MISSING))
FIXTURES = REPO / "tests" / "fixtures"
BROKEN = FIXTURES / "broken_stores.py"
# Small enough for the suite, large enough for each rule to see its flaw: 3 writers x 15
# updates in each mode, 6 kills (the in-place store's 100 ms writes take most of them).
SMALL = {"writers": 3, "updates": 15, "crash_trials": 6}
ENTRY_RULES = ("entry-update-persists", "entry-no-lost-updates")
NATIVE_ENTRY = ("latefile", "sqlite")  # the built-ins with a get/update_entry of their own
SMALL_ARGS = ("--target-kb", "40", "--writers", "3", "--updates", "15", "--crash-trials", "6")


def small_config(spec: str, runtime: str = "python") -> ConformConfig:
    return ConformConfig(target_of(parse_store_spec(spec, runtime)),
                         GenerateSpec("realistic", 1, target_kb=40), **SMALL)


def statuses(spec: str, runtime: str = "python") -> tuple[dict[str, str], dict[str, str]]:
    """Each rule's status, and the first line of its evidence."""
    report = conform_store(small_config(spec, runtime))
    return ({r.rule: r.status for r in report.results},
            {r.rule: r.evidence[0] if r.evidence else "" for r in report.results})


# Node serial: its kills must land mid-update, which Node's slower start-up on a loaded machine
# defeats (both failed so beside another xdist worker at a load average of 8)
@pytest.mark.parametrize(("store", "runtime"), [
    ("wholefile", "python"), ("snapshot", "python"), ("snapshot-lean", "python"),
    ("latefile", "python"), ("sqlite", "python"),
    pytest.param("wholefile", "node", marks=[NEEDS_NODE, pytest.mark.serial]),
    pytest.param("snapshot", "node", marks=[NEEDS_NODE, pytest.mark.serial]),
    pytest.param("snapshot-lean", "node", marks=[NEEDS_NODE, pytest.mark.serial]),
    pytest.param("latefile", "node", marks=[NEEDS_NODE, pytest.mark.serial]),
    pytest.param("sqlite", "node", marks=[NODE_SQLITE, pytest.mark.serial])])
def test_the_built_in_stores_pass_every_rule(store: str, runtime: str) -> None:
    # GIVEN a built-in store WHEN every rule runs on it
    found, evidence = statuses(store, runtime)
    # THEN each passes; the Node adapter needs no save: the stores without one skip
    # save-replaces; stores with no get/update_entry of their own skip the entry rules
    expected = {rule.id: PASS for rule in RULES}
    if store not in NATIVE_ENTRY:
        expected |= dict.fromkeys(ENTRY_RULES, SKIP)
    if runtime == "node" and store in ("wholefile", "snapshot", "snapshot-lean"):
        expected["save-replaces"] = SKIP
    assert found == expected, evidence
    # AND the writers ran plain and reusing their loaded store, and kills landed mid-update
    assert "(plain and base reuse): all 90 in the file" in evidence["no-lost-updates"]
    assert "6 writers killed: every file whole" in evidence["crash-safe"]
    if store != "sqlite":  # SQLite's own lock and journal leave no files of ours to clear
        assert "left by kills mid-update, cleared" in evidence["crash-safe"]


@pytest.mark.parametrize(("store", "broken", "may_also_break"), [
    ("SizeOnlyReuseStore", {"base-reuse-safe": "'.sessionId, keeping the file's size, after this "
                                               "one loaded"}, {"no-lost-updates"}),
    ("InPlaceStore", {"crash-safe": "kills left a file that is not the whole store",
                      "atomic-replace": "reads while writers wrote found no whole store"},
     {"no-lost-updates"}),
    ("WideModeStore", {"file-mode": "after update: mode 0644, wider than 0600 (new permissions "
                                    "for group, others)"}, set()),
    ("SharedCacheStore", {"load-roundtrip": "load after the caller changed what an earlier load "
                                            "returned: store: 1 key missing"}, set()),
])
def test_a_broken_store_fails_the_rule_its_flaw_breaks(store: str, broken: dict[str, str],
                                                       may_also_break: set[str]) -> None:
    # GIVEN a built-in store with one flaw, loaded from a file as a user's store is
    found, first_lines = statuses(f"{BROKEN}:{store}")
    failed = {rule for rule, status in found.items() if status == FAIL}
    # THEN the rules the flaw breaks fail, with evidence; the rest of the contract holds
    assert set(broken) <= failed <= set(broken) | may_also_break, first_lines
    for rule, evidence in broken.items():
        assert evidence in first_lines[rule], first_lines


@NEEDS_NODE
def test_a_broken_node_module_fails_base_reuse_safe() -> None:
    # GIVEN a Node module whose update trusts the caller's snapshot blindly
    found, first_lines = statuses(str(FIXTURES / "broken_reuse.mjs"), "node")
    failed = {rule for rule, status in found.items() if status == FAIL}
    assert "base-reuse-safe" in failed and failed <= {"base-reuse-safe", "no-lost-updates"}
    assert "update(mutator, base_store=loaded) then wrote a file without it" in first_lines[
        "base-reuse-safe"]


def test_conform_cli_passes_a_built_in_and_writes_conform_json(tmp_path: Path) -> None:
    out = tmp_path / "conform"
    result = run_cli("conform", "--store", "snapshot", *SMALL_ARGS, "-o", str(out))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("harness conform: snapshot (python 3.")
    assert [line.split()[:2] for line in lines[1:-1]] == [
        ["skip" if r.id in ENTRY_RULES else "pass", r.id] for r in RULES]
    assert lines[-1] == "12 rules: 10 passed, 0 failed, 0 warned, 2 skipped"
    document = json.loads((out / "conform.json").read_text())
    assert document["ok"] is True and document["failed"] == []
    assert [r["rule"] for r in document["rules"]] == [r.id for r in RULES]
    assert document["config"]["target"]["spec"] == "snapshot"


def test_conform_cli_names_the_failing_rule_with_its_evidence_and_exits_1() -> None:
    result = run_cli("conform", "--store", "tests/fixtures/broken_stores.py:WideModeStore",
                     *SMALL_ARGS)
    assert_one_line_error(result, 1, "conform: 1 of 12 rules failed: file-mode")
    failing = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert failing == ["FAIL  file-mode                after update: mode 0644, wider than "
                       "0600 (new permissions for group, others)"]


def test_conform_cli_prints_json_on_request() -> None:
    result = run_cli("conform", "--store", "tests/fixtures/broken_stores.py:SharedCacheStore",
                     *SMALL_ARGS, "--format", "json")
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert document["failed"] == ["load-roundtrip"] and document["ok"] is False
    assert document["store"].endswith("tests/fixtures/broken_stores.py:SharedCacheStore")


def test_a_store_module_in_the_users_folder_is_found(tmp_path: Path) -> None:
    # GIVEN a user's own package.module:Class, in the folder they run harness from
    (tmp_path / "myapp").mkdir()
    (tmp_path / "myapp" / "__init__.py").write_text("")
    (tmp_path / "myapp" / "store.py").write_text(
        "from session_store_harness.stores.snapshot import SnapshotStore\n\n\n"
        "class MyStore(SnapshotStore):\n    pass\n")
    result = subprocess.run(
        [sys.executable, "-m", "session_store_harness.cli", "conform", "--store",
         "myapp.store:MyStore", "--target-kb", "20", "--writers", "2", "--updates", "5",
         "--crash-trials", "2"], capture_output=True, text=True, cwd=tmp_path, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "harness conform: myapp.store:MyStore (python" in result.stdout


@pytest.mark.parametrize(("args", "fragment"), [
    (("--store", "nosuch"), "unknown store 'nosuch'"),
    (("--store", "missing.py:Store"), "missing.py: Python store file does not exist"),
    (("--store", "tests/fixtures/broken_stores.py:Nope"), "has no class 'Nope'"),
    (("--store", "./missing.mjs", "--runtime", "node"), "missing.mjs"),
    (("--store", "snapshot", "--node-arg=--import=tsx"),
     "--node-arg is for Node stores (--runtime node)"),
    (("--store", "snapshot", "--writers", "0"), "--writers must be between 1 and 64"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: tuple[str, ...],
                                          fragment: str) -> None:
    if "node" in args and shutil.which("node") is None:
        pytest.skip("Node.js is not installed")
    out = tmp_path / "conform"
    assert_one_line_error(run_cli("conform", *args, "-o", str(out)), 2, fragment)
    assert not out.exists()  # nothing was checked: no result folder


@pytest.mark.parametrize(("spec", "runtime"), [
    (f"{FIXTURES / 'entry_store.py'}:EntryStore", "python"),
    pytest.param(str(FIXTURES / "entry_store.mjs"), "node", marks=NEEDS_NODE)])
def test_a_store_with_its_own_get_and_update_entry_is_held_to_the_entry_rules(
        spec: str, runtime: str) -> None:
    # GIVEN a user's store with get and update_entry of its own (update_entry async in Node)
    rules = tuple(rule for rule in RULES if rule.id in ENTRY_RULES)
    # WHEN the entry rules run on it
    report = conform_store(small_config(spec, runtime), rules=rules)
    evidence = {r.rule: r.evidence[0] if r.evidence else "" for r in report.results}
    # THEN both pass: an entry update persists across processes, and K writers through
    # update_entry lose none of their updates
    assert {r.rule: r.status for r in report.results} == dict.fromkeys(ENTRY_RULES, PASS), \
        evidence
    assert "(get native, update_entry native)" in evidence["entry-update-persists"]
    assert "3 writers x 15 update_entry pairs" in evidence["entry-no-lost-updates"]
    assert "all 45 in the file" in evidence["entry-no-lost-updates"]
