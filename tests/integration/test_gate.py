"""`harness gate` on real repeated runs of small stores: pass, fail, inconclusive, bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import assert_one_line_error, run_cli

MEMORY = ("--metrics", "rss_last_mb,peak_rss_mb")


def make_run(folder: Path, ballast_mb: int, repeats: int) -> Path:
    result = run_cli("run", "--store", "ballast", "--profile", "pr", "--target-kb", "100",
                     "--cycles", "6", "--sample-every", "2", "--repeat", str(repeats),
                     "--env", f"HARNESS_BALLAST_MB={ballast_mb}", "--run-dir", str(folder))
    assert result.returncode == 0, result.stderr
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("gate")
    return {"base": make_run(root / "base", 0, 5), "same": make_run(root / "same", 0, 5),
            "leak": make_run(root / "leak", 3, 5), "leak-2": make_run(root / "leak-2", 3, 2)}


def test_a_to_a_passes(runs: dict[str, Path]) -> None:
    result = run_cli("gate", str(runs["same"]), "--baseline", str(runs["base"]),
                     "--max-regression", "10%", "--max-peak-rss-mb", "400", *MEMORY)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("[gate] peak RSS (median of 5): ")
    assert lines[0].endswith("(limit 400.0 MB) pass")
    assert "RSS at last cycle regression" in result.stdout
    assert lines[-1] == "[gate] outcome: pass (exit 0)"


def test_a_significant_regression_over_the_threshold_fails(runs: dict[str, Path],
                                                            tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary)}
    result = run_cli("gate", str(runs["leak"]), "--baseline", str(runs["base"]),
                     "--max-regression", "10%", *MEMORY, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "RSS at last cycle regression" in result.stdout and " fail - " in result.stdout
    assert "worse" in result.stdout
    assert "::error title=memory gate::RSS at last cycle regression" in result.stdout
    assert summary.read_text().startswith("### Memory gate: ❌ fail")


def test_a_regression_that_is_not_significant_is_inconclusive(runs: dict[str, Path]) -> None:
    # two repeats a side can never reach p < 0.05: the gate asks for a rerun, not a failure
    result = run_cli("gate", str(runs["leak-2"]), "--baseline", str(runs["base"]),
                     "--max-regression", "10%", *MEMORY, "--format", "json")
    assert result.returncode == 3, result.stdout + result.stderr
    verdict = json.loads(result.stdout)
    assert verdict["outcome"] == "inconclusive"
    assert {c["outcome"] for c in verdict["checks"]} == {"inconclusive"}


def test_absolute_limits_and_config_file(runs: dict[str, Path], tmp_path: Path) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.harness.gate]\nmax_peak_rss_mb = 1\n"
                      "max_growth_mb_per_cycle = 100\n")
    result = run_cli("gate", str(runs["base"]), "--config", str(config))
    assert result.returncode == 1
    assert "(limit 1.0 MB) fail" in result.stdout
    assert "RSS growth per cycle (median of 5)" in result.stdout
    # the command line overrides the file
    result = run_cli("gate", str(runs["base"]), "--config", str(config), "--max-peak-rss-mb",
                     "500")
    assert result.returncode == 0, result.stdout


def test_known_growth_against_a_growth_limit(runs: dict[str, Path]) -> None:
    result = run_cli("gate", str(runs["leak"]), "--max-growth-mb-per-cycle", "1", "--format",
                     "json")
    checks = json.loads(result.stdout)["checks"]
    assert result.returncode == 1
    assert 2.5 < checks[0]["value"] < 3.5  # 3 MiB kept per cycle


@pytest.mark.parametrize(("args", "fragment"), [
    (("--max-regression", "10%"), "needs --baseline"),
    ((), "no checks"),
    (("--max-regression", "10", "--baseline", "BASE"), "ambiguous"),
    (("--max-regression", "lots", "--baseline", "BASE"), "10%"),
    (("--max-regression", "5%", "--baseline", "BASE", "--metrics", "speed"), "unknown"),
])
def test_bad_gate_input_exits_2(runs: dict[str, Path], args: tuple[str, ...],
                                fragment: str) -> None:
    args = tuple(str(runs["base"]) if a == "BASE" else a for a in args)
    assert_one_line_error(run_cli("gate", str(runs["same"]), *args), 2, fragment)


def test_gate_on_a_folder_that_is_not_a_run_exits_2(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("gate", str(tmp_path), "--max-peak-rss-mb", "5"), 2,
                          "not a run folder")
