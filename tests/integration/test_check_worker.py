"""`harness check-worker`: the built-ins and a good protocol speaker pass; deliberately broken
workers are told apart, each break on a line of its own; bad options are usage errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.integration.user_project import SPEAKER, harness, make_project

NEEDS_NODE = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "project")


@pytest.mark.parametrize("store", [
    ("--store", "snapshot"), ("--store", "wholefile", "--reuse-loaded-store"),
    pytest.param(("--runtime", "node", "--store", "snapshot"), marks=NEEDS_NODE),
    ("--store", "plain_store.py:PlainStore"),
    ("--store", "myapp.cached:CachedStore", "--touch-fields", "updatedAt,status"),
    pytest.param(("--store", "./store.mjs"), marks=NEEDS_NODE),
    ("--worker-cmd", f"python3 {SPEAKER}"),
])
def test_good_workers_pass(project: Path, store: tuple[str, ...]) -> None:
    result = harness(project, "check-worker", *store)
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("[check-worker] ok: 4 cycles and 3 samples as the protocol says")
    assert "every load returned the file's entries" in last


@pytest.mark.parametrize(("broken", "lines"), [
    ("wrong-version", ["protocol: worker speaks protocol 2; this harness speaks 1"]),
    ("missing-field", ["protocol: worker broke the protocol: sample message lacks heap_bytes"]),
    ("wrong-type", ["protocol: message 3 (cycle): load_ms is '",
                    "protocol: ... and 1 more like these"]),
    ("unknown-message", ["protocol: worker broke the protocol: unknown message: "]),
    ("lose-update", ["update: cycle 1's update is not in the file: no entry holds "
                     "lastTo='harness:1', label='cycle 1'",
                     "update: cycle 1 reported wrote=false, but its update changed the store"]),
    ("drop-entry", ["load: cycle 1's load returned 4 entries; the file held 5",
                    "update: 4 entries vanished from the file (first: 'session:0')"]),
    ("not-json", ["file: the store file is no longer a store: Extra data"]),
    ("exit-nonzero", ["exit: the worker exited with code 3"]),
    ("no-done", ["exit: worker exited before reporting that it was done"]),
])
def test_a_broken_worker_is_told_what_breaks(project: Path, broken: str,
                                            lines: list[str]) -> None:
    # GIVEN a protocol speaker that breaks one rule on purpose
    result = harness(project, "check-worker", "--worker-cmd",
                     f"python3 speaker.py --break {broken}", "--profile", "pr", "--entries", "5")
    # THEN it fails (exit 1), each finding on a line of its own, and nothing else breaks
    assert result.returncode == 1, result.stdout + result.stderr
    found = [line.removeprefix("[check-worker] FAIL ") for line in result.stdout.splitlines()
             if line.startswith("[check-worker] FAIL ")]
    for expected in lines:
        assert any(line.startswith(expected) for line in found), found
    rules = {line.split(":")[0] for line in found}
    assert rules == {expected.split(":")[0] for expected in lines}, found
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("harness: error: check-worker: ")


def test_a_class_without_the_interface_is_told_what_it_lacks(project: Path) -> None:
    (project / "half.py").write_text("class Half:\n    def __init__(self, path, env=None): "
                                     "...\n    def load(self): return {}\n")
    result = harness(project, "check-worker", "--store", "half.py:Half")
    assert result.returncode == 1
    assert ("FAIL store: the worker reported an error: " in result.stdout
            and "class Half lacks update, save" in result.stdout)


@pytest.mark.parametrize(("args", "fragment"), [
    (("--store", "snapshot", "--touch-fields", "a,,b"), "--touch-fields takes field names"),
    (("--store", "snapshot", "--cycles", "0"), "--cycles must be between 1"),
    (("--worker-cmd", "python3 'speaker.py"), "No closing quotation"),
    (("--store", "nope.py:Store"), "nope.py: Python store file does not exist"),
])
def test_bad_options_are_usage_errors(project: Path, args: tuple[str, ...],
                                      fragment: str) -> None:
    result = harness(project, "check-worker", *args)
    assert result.returncode == 2 and fragment in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
