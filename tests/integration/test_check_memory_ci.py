"""`harness check-memory` in GitHub Actions, on a real command: the step summary appended to,
`::error::` annotations for what fails, and the measuring method (and why no cgroup) said."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from session_store_harness.measuring.memcheck import CGROUP, _make_cgroup, _remove_cgroup
from tests.conftest import run_cli

ALLOCATE_40_MB = "blob = b'x' * (40 << 20)"


def _cgroup_unavailable() -> str | None:
    """Why this machine measures without the cgroup's counter (None: it has one)."""
    probe, why_not = _make_cgroup()
    if probe is not None:
        _remove_cgroup(probe)
        return None
    return why_not


def _env(summary: Path, actions: bool) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GITHUB_")}
    env["GITHUB_STEP_SUMMARY"] = str(summary)
    if actions:
        env["GITHUB_ACTIONS"] = "true"
    return env


def test_over_the_limit_in_github_actions_appends_the_summary_and_annotates(
        tmp_path: Path) -> None:
    # GIVEN a step summary that earlier steps already wrote to
    summary = tmp_path / "summary.md"
    summary.write_text("## Earlier step\n")
    # WHEN a command touching 40 MB is checked against 20 MB in GitHub Actions
    result = run_cli("check-memory", "--limit-mb", "20", "--name", "alloc", "--",
                     sys.executable, "-c", ALLOCATE_40_MB, env=_env(summary, actions=True))
    # THEN it fails, with one annotation saying by how much and how it was measured
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stdout.splitlines() if line.startswith("::error")]
    assert len(errors) == 1, result.stdout
    assert errors[0].startswith("::error title=memory check::alloc: ")
    assert "MB peak RSS over the limit 20 MB (by " in errors[0]
    # AND the summary keeps what was there and adds the table
    text = summary.read_text()
    assert text.startswith("## Earlier step\n### Memory check: ❌ fail\n")
    row = next(line for line in text.splitlines() if line.startswith("| alloc |"))
    assert "❌ over the limit" in row
    peak = float(row.split("|")[4].split()[0])
    assert 40 < peak < 200  # 40 MB touched, plus the interpreter
    # AND both say how the peak was taken: the cgroup's counter, or why not and what instead
    why_not = _cgroup_unavailable()
    run = result.stdout.splitlines()[0]
    if why_not is None:
        assert CGROUP in row and "no cgroup" not in run
    else:
        assert f"no {CGROUP}: {why_not}" in run
        assert f"Measured without {CGROUP} (the exact peak of the whole process tree): " \
               f"{why_not}." in text
        assert CGROUP not in row


def test_a_pass_writes_the_summary_and_no_annotation(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    result = run_cli("check-memory", "--limit-mb", "400", "--name", "alloc", "--",
                     sys.executable, "-c", ALLOCATE_40_MB, env=_env(summary, actions=True))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "::" not in result.stdout + result.stderr
    assert summary.read_text().startswith("### Memory check: ✅ pass\n")


def test_a_failing_command_is_annotated_and_outside_actions_only_summarized(
        tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    failing = ("check-memory", "--limit-mb", "400", "--name", "exits-3", "--",
               sys.executable, "-c", "raise SystemExit(3)")
    inside = run_cli(*failing, env=_env(summary, actions=True))
    assert inside.returncode == 1
    assert "::error title=memory check::exits-3: command exited with code 3" in inside.stdout
    # outside GitHub Actions (GITHUB_ACTIONS unset) a summary file is still written, but no
    # workflow command is printed: they would be noise in a terminal
    outside = run_cli(*failing, env=_env(summary, actions=False))
    assert outside.returncode == 1 and "::" not in outside.stdout + outside.stderr
    assert summary.read_text().count("| exits-3 | ❌ command exited with code 3 |") == 2


def test_an_unwritable_summary_is_a_warning_and_keeps_the_exit_code(tmp_path: Path) -> None:
    # a folder where the summary file should be: unwritable, even for root
    result = run_cli("check-memory", "--limit-mb", "400", "--", sys.executable, "-c", "pass",
                     env=_env(tmp_path, actions=False))
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"harness: warning: cannot write the GitHub step summary {tmp_path} (Is a directory)"]


def test_a_command_not_found_stops_the_check_and_says_so_on_the_job_page(
        tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    result = run_cli("check-memory", "--limit-mb", "10", "--", str(tmp_path / "no-such-program"),
                     env=_env(summary, actions=True))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == \
        f"harness: error: command not found: {tmp_path / 'no-such-program'}"
    assert (f"::error title=memory check::stopped: command not found: "
            f"{tmp_path / 'no-such-program'}") in result.stdout
    text = summary.read_text()
    assert text.startswith("### Memory check: ❌ fail")
    assert f"> ❌ Stopped: command not found: {tmp_path / 'no-such-program'}" in text
