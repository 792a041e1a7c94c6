"""The pure parts of `harness conform`: how stores are compared, how verdicts are reached, and
what the text writer prints for a report (against tests/golden/conform.txt; after an intended
change: `UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/unit/test_conform_rules.py`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from session_store_harness.conformance.conform import ConformConfig, ConformReport, RuleResult
from session_store_harness.conformance.rules import (
    FAIL,
    PASS,
    RULES,
    SKIP,
    WARN,
    applied,
    difference,
    judged,
)
from session_store_harness.generating.generator import GenerateSpec
from session_store_harness.measuring.targets import StoreTarget
from session_store_harness.writers.conform_json import conform_json
from session_store_harness.writers.conform_text import conform_lines

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "conform.txt"


def test_equal_stores_have_no_difference() -> None:
    store = {"a": {"n": 1, "flags": [True, None], "nested": {"x": "y"}}}
    assert difference(store, json.loads(json.dumps(store))) is None
    assert difference({"a": {"n": 1}}, {"a": {"n": 1.0}}) is None  # one number, as in JavaScript


def test_the_first_difference_is_named_with_its_place() -> None:
    assert difference({"a": {"n": 1}}, {"a": {"n": 2}}) == "store['a']['n']: expected 1, found 2"
    assert difference({"a": {"ok": True}}, {"a": {"ok": 1}}) == (
        "store['a']['ok']: expected True, found 1")  # true is not 1
    assert difference({"a": {"l": [1, 2]}}, {"a": {"l": [1, 3]}}) == (
        "store['a']['l'][1]: expected 2, found 3")
    assert difference({"a": {}, "b": {}}, {"a": {}, "c": {}, "d": {}}) == (
        "store: 1 key missing (first 'b'); 2 keys unexpected (first 'c')")


def test_applied_changes_merge_fields_and_delete_entries_without_touching_the_original() -> None:
    store = {"a": {"n": 1, "m": 2}, "b": {"n": 3}}
    after = applied(store, {"set": {"a": {"n": 5}, "c": {"n": 6}}, "delete": ["b"]})
    assert after == {"a": {"n": 5, "m": 2}, "c": {"n": 6}}
    assert store == {"a": {"n": 1, "m": 2}, "b": {"n": 3}}


def test_a_problem_fails_a_warning_warns_and_facts_show_on_a_pass() -> None:
    assert judged(["lost"], ["left a file"]).status == FAIL
    assert judged(["lost"], ["left a file"]).evidence == ("lost", "left a file")
    assert judged([], ["left a file"]).status == WARN
    assert judged([], [], ("all 90 in the file",)).evidence == ("all 90 in the file",)


def test_rule_ids_are_unique_and_stable() -> None:
    assert [rule.id for rule in RULES] == [
        "load-roundtrip", "update-persists", "entry-update-persists", "save-replaces",
        "unchanged-not-rewritten", "base-reuse-safe", "file-mode", "format", "no-lost-updates",
        "entry-no-lost-updates", "atomic-replace", "crash-safe"]
    assert all(len(rule.description) <= 90 for rule in RULES)


def report() -> ConformReport:
    config = ConformConfig(StoreTarget("snapshot"), GenerateSpec("realistic", 1, target_kb=100))
    rules = {rule.id: rule for rule in RULES}
    results = (
        RuleResult("load-roundtrip", rules["load-roundtrip"].description, PASS,
                   ("5 entries; 3 loads equal the file",), 160.8),
        RuleResult("save-replaces", rules["save-replaces"].description, SKIP,
                   ("the store has no save(store)",), 2.0),
        RuleResult("file-mode", rules["file-mode"].description, FAIL,
                   ("after update: mode 0644, wider than 0600 (new permissions for group, "
                    "others)", "after save: mode 0644, wider than 0600 (new permissions for "
                    "group, others)"), 111.4),
        RuleResult("no-lost-updates", rules["no-lost-updates"].description, WARN,
                   ("plain: left in the folder after every writer exited: sessions.json.lck",),
                   3220.5))
    return ConformReport(config, ("harness", "conform"), {"runtime": "python 3.11.7"}, results)


def test_the_text_report_matches_the_golden_file() -> None:
    text = "\n".join(conform_lines(report())) + "\n"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_conform_json_names_the_failed_rules() -> None:
    document = json.loads(conform_json(report()))
    assert document["schema_version"] == 1 and document["ok"] is False
    assert document["failed"] == ["file-mode"] and document["runtime"] == "python"
    assert [r["status"] for r in document["rules"]] == ["pass", "skip", "fail", "warn"]
