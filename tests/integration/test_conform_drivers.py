"""The conformance drivers: a store that prints cannot corrupt the exchange, a store that hangs
fails the step and its driver is stopped, a store error is an answer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from session_store_harness.conformance.drivers import Driver, StepFailed
from session_store_harness.measuring.targets import StoreTarget
from tests.conftest import REPO

NEEDS_NODE = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
FIXTURES = REPO / "tests" / "fixtures"


@pytest.mark.parametrize(("spec", "runtime"), [
    (f"{FIXTURES / 'awkward_stores.py'}:PrintingStore", "python"),
    pytest.param(str(FIXTURES / "printing_store.mjs"), "node", marks=NEEDS_NODE)])
def test_a_store_that_prints_does_not_corrupt_the_exchange(pr_store: Path, tmp_path: Path,
                                                           spec: str, runtime: str) -> None:
    # GIVEN a store that prints an answer-like line on stdout at every load
    printed = tmp_path / "printed.txt"
    with Driver(StoreTarget(spec, runtime), pr_store, printed, timeout_s=30) as driver:
        loaded = driver.do("load", reply=True)["store"]
    # THEN the driver's answer is the store, and what it printed went to its output
    assert loaded == json.loads(pr_store.read_text())
    assert "printed by the store" in printed.read_text()


def test_a_hanging_store_fails_the_step_and_its_driver_is_stopped(pr_store: Path,
                                                                  tmp_path: Path) -> None:
    target = StoreTarget(f"{FIXTURES / 'awkward_stores.py'}:HangingStore")
    with Driver(target, pr_store, tmp_path / "printed.txt", timeout_s=1) as driver:
        with pytest.raises(StepFailed, match=r"update: no answer within 1 s \(the store hangs\)"):
            driver.do("update", set={"conform:probe": {"n": 1}})
        # AND the driver, found by the pid it was started with, is gone
        assert driver.process.poll() is not None


def test_a_store_error_is_an_answer_and_the_driver_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "sessions.json"
    path.write_text('{"a": {"sessionId": "a"}')  # truncated
    with Driver(StoreTarget("snapshot"), path, tmp_path / "printed.txt", timeout_s=30) as driver:
        answer = driver.ask("load", reply=True)
        assert answer["ok"] is False and answer["error"].startswith("StoreError: ")
        with pytest.raises(StepFailed, match=r"update raised StoreError: .*invalid JSON"):
            driver.do("update")
        path.write_text('{"a": {"sessionId": "a"}}')
        assert driver.do("load", reply=True)["store"] == {"a": {"sessionId": "a"}}


@NEEDS_NODE
def test_a_node_store_whose_methods_are_promises_is_awaited(pr_store: Path,
                                                            tmp_path: Path) -> None:
    target = StoreTarget(str(FIXTURES / "async_store.mjs"), "node")
    with Driver(target, pr_store, tmp_path / "printed.txt", timeout_s=30) as driver:
        loaded = driver.do("load", reply=True)["store"]
        assert loaded == json.loads(pr_store.read_text())  # the store, not a pending promise
        outcome = driver.do("update", set={"conform:async": {"n": 1}})["outcome"]
        assert outcome == {"wrote": True, "reusedBase": False}
        assert json.loads(pr_store.read_text())["conform:async"] == {"n": 1}
        driver.do("save", store={"only": {"sessionId": "only"}})
        assert json.loads(pr_store.read_text()) == {"only": {"sessionId": "only"}}  # saved by now
