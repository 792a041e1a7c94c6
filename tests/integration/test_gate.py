"""`harness gate` on real repeated runs of small stores: pass, fail, inconclusive, bad input."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import click
import pytest

from session_store_harness.commands.compare import compare
from session_store_harness.commands.gate import gate
from session_store_harness.commands.report import report
from session_store_harness.errors import EXIT_CODES
from session_store_harness.judging.compare import ASPECTS
from tests.conftest import assert_one_line_error, run_cli

MEMORY = ("--metrics", "rss_last_mb,peak_rss_mb")


def make_run(folder: Path, ballast_mb: int, repeats: int, target_kb: int = 100) -> Path:
    result = run_cli("run", "--store", "ballast", "--profile", "pr", "--target-kb",
                     str(target_kb), "--cycles", "6", "--sample-every", "2", "--repeat",
                     str(repeats), "--env", f"HARNESS_BALLAST_MB={ballast_mb}", "--run-dir",
                     str(folder))
    assert result.returncode == 0, result.stderr
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("gate")
    return {"base": make_run(root / "base", 0, 5), "same": make_run(root / "same", 0, 5),
            "leak": make_run(root / "leak", 3, 5), "leak-2": make_run(root / "leak-2", 3, 2),
            "base-1": make_run(root / "base-1", 0, 1),
            "bigger": make_run(root / "bigger", 0, 5, target_kb=150)}


def test_a_to_a_passes(runs: dict[str, Path]) -> None:
    result = run_cli("gate", str(runs["same"]), "--baseline", str(runs["base"]),
                     "--max-regression", "10%", "--max-peak-rss-mb", "400", *MEMORY)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    # the stores judged come first, then the checks
    assert lines[:2] == ["[gate] candidate: ballast (built-in, python)",
                         "[gate] baseline: ballast (built-in, python)"]
    assert lines[2].startswith("[gate] peak RSS (median of 5): ")
    assert lines[2].endswith("(limit 400.0 MB) pass")
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
    annotation = next(line for line in result.stdout.splitlines() if line.startswith("::error"))
    assert " over the limit +10.0%25 (" in annotation
    assert summary.read_text().startswith("### Memory gate: ❌ fail")


def test_a_regression_that_is_not_significant_is_inconclusive(runs: dict[str, Path]) -> None:
    # two repeats a side can never reach p < 0.05: the gate asks for a rerun, not a failure
    result = run_cli("gate", str(runs["leak-2"]), "--baseline", str(runs["base"]),
                     "--max-regression", "10%", *MEMORY, "--format", "json")
    assert result.returncode == 3, result.stdout + result.stderr
    verdict = json.loads(result.stdout)
    assert verdict["outcome"] == "inconclusive"
    assert {c["outcome"] for c in verdict["checks"]} == {"inconclusive"}


def test_an_inconclusive_check_is_annotated_as_not_judged_not_as_over_the_limit(
        runs: dict[str, Path], tmp_path: Path) -> None:
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    result = run_cli("gate", str(runs["leak-2"]), "--baseline", str(runs["base"]),
                     "--max-regression", "10%", *MEMORY, env=env)
    assert result.returncode == 3, result.stdout + result.stderr
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert len(annotations) == 2
    for line in annotations:
        assert line.startswith("::warning title=memory gate::")
        assert "could not be judged: " in line and "over" not in line.partition("judged")[0]
    assert "fewer than 5 repeats a side cannot be significant at p < 0.025" in annotations[0]


def test_json_in_github_actions_is_one_json_document_and_still_writes_the_summary(
        runs: dict[str, Path], tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary)}
    result = run_cli("gate", str(runs["leak"]), "--baseline", str(runs["base"]),
                     "--max-regression", "10%", *MEMORY, "--format", "json", env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    verdict = json.loads(result.stdout)  # nothing after the document: no ::error lines
    assert verdict["outcome"] == "fail"
    assert "::" not in result.stdout + result.stderr
    assert summary.read_text().startswith("### Memory gate: ❌ fail")


@pytest.mark.parametrize("output_format", ["text", "json"])
def test_an_unwritable_step_summary_is_a_warning_and_keeps_the_gates_exit_code(
        runs: dict[str, Path], tmp_path: Path, output_format: str) -> None:
    # a folder where the summary file should be: unwritable, even for root
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(tmp_path)}
    result = run_cli("gate", str(runs["same"]), "--max-peak-rss-mb", "400", "--format",
                     output_format, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"harness: warning: cannot write the GitHub step summary {tmp_path} (Is a directory)"]
    if output_format == "json":
        assert json.loads(result.stdout)["outcome"] == "pass"
    else:
        assert result.stdout.splitlines()[-1] == "[gate] outcome: pass (exit 0)"


def test_a_refusal_in_json_mode_is_a_json_error_on_stdout_and_one_line_on_stderr(
        runs: dict[str, Path]) -> None:
    result = run_cli("gate", str(runs["bigger"]), "--baseline", str(runs["base"]),
                     "--max-regression", "10%", *MEMORY, "--format", "json")
    assert_one_line_error(result, 2, "runs are not comparable")
    refusal = json.loads(result.stdout)
    assert refusal == {"outcome": "error", "exit_code": 2, "error": refusal["error"]}
    assert result.stderr == f"harness: error: {refusal['error']}\n"
    # a refusal of the options themselves, before any run is read, is one document too
    result = run_cli("gate", str(runs["same"]), "--format", "json")
    assert result.returncode == 2
    assert json.loads(result.stdout)["error"].startswith("no checks")


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


def test_a_one_repeat_baseline_is_never_a_pass(runs: dict[str, Path]) -> None:
    # the candidate matches the baseline, but one repeat a side can tell nothing
    result = run_cli("gate", str(runs["same"]), "--baseline", str(runs["base-1"]),
                     "--max-regression", "10%", *MEMORY)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "too few repeats" in result.stdout
    # two memory metrics share the 5%: p < 0.025 needs 5 repeats a side
    assert "fewer than 5 repeats a side cannot be significant at p < 0.025" in result.stdout
    assert any(line.startswith("[gate] note: ") and "has 1 repeat(s): at least 5 a side" in line
               for line in result.stdout.splitlines())
    assert result.stdout.splitlines()[-1] == "[gate] outcome: inconclusive (exit 3)"


def test_runs_of_different_store_files_are_refused_unless_allowed(runs: dict[str, Path],
                                                                  tmp_path: Path) -> None:
    args = ("gate", str(runs["bigger"]), "--baseline", str(runs["base"]), "--max-regression",
            "10%", *MEMORY)
    assert_one_line_error(run_cli(*args), 2, "the store file (SHA-256) differs",
                          "--allow-different store-file")
    # WHEN the difference is named as intended, on the command line or in the config file
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.harness.gate]\nallow_different = ["store-file"]\n')
    for extra in (("--allow-different", "store-file"), ("--allow-different", "trim,store-file"),
                  ("--config", str(config))):
        result = run_cli(*args, *extra)
        # THEN the runs are judged (50 KB more store is well under 10%)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "RSS at last cycle regression" in result.stdout


def test_unknown_allow_different_keys_are_refused(runs: dict[str, Path], tmp_path: Path) -> None:
    args = ("gate", str(runs["same"]), "--baseline", str(runs["base"]), "--max-regression",
            "10%")
    assert_one_line_error(run_cli(*args, "--allow-different", "store-size"), 2,
                          "--allow-different takes store-file, profile")
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.harness.gate]\nallow_different = 3\n")
    assert_one_line_error(run_cli(*args, "--config", str(config)), 2,
                          "allow_different must be a list of names")


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node on PATH for a Node run")
def test_a_node_candidate_against_a_python_baseline_is_refused(tmp_path: Path) -> None:
    folders = {}
    for runtime in ("python", "node"):
        folders[runtime] = tmp_path / runtime
        result = run_cli("run", "--store", "wholefile", "--runtime", runtime, "--profile", "pr",
                         "--target-kb", "100", "--cycles", "4", "--sample-every", "2",
                         "--repeat", "1", "--run-dir", str(folders[runtime]))
        assert result.returncode == 0, result.stderr
    assert_one_line_error(
        run_cli("gate", str(folders["node"]), "--baseline", str(folders["python"]),
                "--max-regression", "10%"), 2,
        "the runtime differs (", " vs node", "--allow-different runtime")


def test_gate_json_has_stable_ids_rounded_figures_and_notes(runs: dict[str, Path]) -> None:
    args = ("gate", str(runs["same"]), "--baseline", str(runs["base"]), "--max-regression",
            "10%", "--max-peak-rss-mb", "400", *MEMORY)
    verdict = json.loads(run_cli(*args, "--format", "json").stdout)
    checks = {c["id"]: c for c in verdict["checks"]}
    assert list(checks) == ["limit.peak_rss_mb", "regression.rss_last_mb",
                            "regression.peak_rss_mb"]
    rss = checks["regression.rss_last_mb"]
    assert decimals(rss["p_value"]) <= 4 and decimals(rss["before"]) <= 3
    assert decimals(checks["limit.peak_rss_mb"]["value"]) <= 3
    assert len(rss["interval"]) == 2 and all(isinstance(v, float) for v in rss["interval"])
    assert (rss["alpha"], rss["interval_level"]) == (0.025, 0.975)
    assert rss["metric"] == "rss_last_mb" and rss["metric_unit"] == "MB"
    assert any("measured apart" in note for note in verdict["notes"])
    # AND the text output shows the same notes, before the outcome line
    text = run_cli(*args).stdout.splitlines()
    notes = [line for line in text if line.startswith("[gate] note: ")]
    assert [line.removeprefix("[gate] note: ") for line in notes] == verdict["notes"]
    assert text[-1] == "[gate] outcome: pass (exit 0)"


def decimals(value: float) -> int:
    return len(repr(value).partition(".")[2])


def test_gate_help_lists_every_exit_code_and_every_allowed_difference() -> None:
    result = run_cli("gate", "--help")
    assert result.returncode == 0
    for code, meaning in EXIT_CODES.items():
        assert f"\n  {code}: {meaning}\n" in result.stdout
    flat = re.sub(r"\s+", " ", result.stdout)
    assert ", ".join(ASPECTS) in flat
    # exit 3 also covers a gate that had too few repeats to judge, not only a noisy change
    assert ("3: inconclusive: a change over a threshold that is not significant, or too few "
            "repeats to tell") in flat
    assert "no GitHub annotations" in flat  # --format json says what it leaves out


@pytest.mark.parametrize("command", [gate, compare, report], ids=lambda c: c.name)
def test_every_option_has_help(command: click.Command) -> None:
    bare = [p.name for p in command.params if isinstance(p, click.Option) and not p.help]
    assert bare == []


def test_by_default_the_gate_judges_steady_rss_peak_and_time_and_states_each_mdc(
        runs: dict[str, Path]) -> None:
    # GIVEN no --metrics: the defaults, steady RSS instead of RSS at the last cycle
    result = run_cli("gate", str(runs["same"]), "--baseline", str(runs["base"]),
                     "--max-regression", "10%", "--format", "json")
    verdict = json.loads(result.stdout)
    checks = {c["id"]: c for c in verdict["checks"]}
    assert list(checks) == ["regression.rss_steady_mb", "regression.peak_rss_mb",
                            "regression.cycle_ms_median"]
    # THEN each check gives the smallest change 5 repeats a side could detect, in its unit
    for check in checks.values():
        assert isinstance(check["mdc"], float) and check["mdc"] >= 0
        assert decimals(check["mdc"]) <= 3 and ", MDC " in check["detail"]
    assert checks["regression.rss_steady_mb"]["metric_unit"] == "MB"
