"""`harness history add | show` over real runs: a user's store measured at six commits, its
code holding 12 MiB more from the fourth on (a planted step), and a store that never changes."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from session_store_harness.cli import cli
from session_store_harness.errors import HarnessError
from session_store_harness.generating.generator import GenerateSpec
from session_store_harness.judging.change_points import judge_history
from session_store_harness.measuring.measure import measure
from session_store_harness.model.config import RunConfig, store_options
from session_store_harness.model.history import HISTORY, HISTORY_CSV, load_history
from tests.conftest import assert_one_line_error, run_cli

STORE_CODE = '''"""A user's store at one commit: the snapshot store, holding PAD_MB MiB more."""
from session_store_harness.stores.snapshot import SnapshotStore

PAD_MB = {pad_mb}


class MyStore(SnapshotStore):
    def __init__(self, path, env=None):
        super().__init__(path, env)
        self._pad = b"\\xa5" * (PAD_MB * 1024 * 1024)  # non-zero: every page resident
'''
PADS_MB = (0, 0, 0, 12, 12, 12)  # commits 1-3, then a store 12 MiB larger
SHAS = [f"{n:x}" * 40 for n in range(1, 10)]  # 111..., 222..., a commit per run
SMALL = {"cycles": 4, "sample_every": 1, "repeat": 1,
         "generate": GenerateSpec("pr", seed=1, target_kb=100)}


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Eight real runs: the six commits of the planted step, then two more of the small store
    (the flat series is commits 1-3 and these, and one `harness ab` after side)."""
    root = tmp_path_factory.mktemp("history")
    project = root / "project"
    project.mkdir()
    folders = []
    for index, pad in enumerate((*PADS_MB, 0, 0), start=1):
        # GIVEN the store's code as committed at this commit (a checkout rewrites the file)
        (project / "my_store.py").write_text(STORE_CODE.format(pad_mb=pad))
        config = RunConfig(**store_options("my_store.py:MyStore", cwd=project), **SMALL)
        folder = root / f"run-{index}"
        folder.mkdir()
        assert measure(config, folder).complete
        folders.append(folder)
    return folders


def refused(*args: str) -> str:
    """`harness history ARGS` in this process: it must stop on a `HarnessError` of exit code 2
    (which `main` prints as one line, as the subprocess case below shows) and no other."""
    result = CliRunner().invoke(cli, ["history", *args])
    assert isinstance(result.exception, HarnessError), result.output
    assert result.exception.exit_code == 2
    message = str(result.exception)
    assert "\n" not in message
    return message


def add(run: Path, commit: str, into: Path, *extra: str) -> str:
    return invoke("history", "add", str(run), "--commit", commit, "--into", str(into),
                  "--commit-time", "2026-01-01T00:00:00+00:00", *extra)


def test_a_planted_step_is_named_at_its_first_commit(runs: list[Path], tmp_path: Path) -> None:
    into = tmp_path / "history"
    for run, sha in zip(runs[:6], SHAS, strict=False):
        add(run, sha, into, "--branch", "main")
    # WHEN the history is shown
    printed = invoke("history", "show", "--from", str(into), "-o", str(tmp_path / "show"))
    # THEN steady RSS steps at commit 4, by about the 12 MiB the code holds more
    judgement = judge_history(load_history(into), ("rss_steady_mb",))
    steps = judgement.series[0].detection.steps
    assert [judgement.series[0].records[s.index].commit for s in steps] == [SHAS[3]]
    assert 10 < steps[0].size < 14
    assert f"steady RSS (median, 2nd half): step at {SHAS[3][:7]}: +" in printed
    # AND the files: a line and a CSV row per commit, private, the report under GitHub's limit
    assert len((into / HISTORY).read_text().splitlines()) == 6
    assert len((into / HISTORY_CSV).read_text().splitlines()) == 7
    assert stat.S_IMODE(into.stat().st_mode) == 0o700
    for name in (HISTORY, HISTORY_CSV):
        assert stat.S_IMODE((into / name).stat().st_mode) == 0o600
    report = (tmp_path / "show" / "history.md").read_text()
    assert len(report) < 65_536 and "```mermaid\nxychart-beta" in report
    assert f"| `{SHAS[3][:7]}` |" in report
    assert (tmp_path / "show" / "history.png").read_bytes().startswith(b"\x89PNG")
    record = json.loads((into / HISTORY).read_text().splitlines()[3])
    assert record["store"]["written"] == "my_store.py:MyStore" and record["branch"] == "main"
    assert record["metrics"]["rss_steady_mb"]["repeats"] == 1


def test_a_flat_series_has_no_step_and_an_ab_folder_gives_its_after_side(
        runs: list[Path], tmp_path: Path) -> None:
    into = tmp_path / "history"
    flat = [*runs[:3], *runs[6:]]  # the small store, five runs
    for run, sha in zip(flat, SHAS, strict=False):
        add(run, sha, into)
    ab = tmp_path / "ab"
    store = f"{runs[0].parent / 'project' / 'my_store.py'}:MyStore"  # as committed last
    result = run_cli("ab", "snapshot", store, "-o", str(ab), "--profile", "pr",
                     "--target-kb", "100", "--cycles", "4", "--sample-every", "1",
                     "--repeat", "1")
    assert result.returncode == 0, result.stderr
    said = add(ab, SHAS[5], into)
    assert f"is a harness ab folder: recording its after side ({ab / 'after'})" in said
    judgement = judge_history(load_history(into), ("rss_steady_mb", "peak_rss_mb"))
    assert len(judgement.comparable) == 6 and not judgement.excluded
    assert judgement.series[0].detection.enough
    assert judgement.series[0].detection.steps == ()


def test_too_little_history_is_said(runs: list[Path], tmp_path: Path) -> None:
    into = tmp_path / "history"
    add(runs[0], SHAS[0], into)
    printed = invoke("history", "show", "--from", str(into), "-o", str(tmp_path / "show"))
    assert "too little history to detect steps (1 of the 5 comparable commits needed)" in printed
    assert "Too little history to detect steps" in (tmp_path / "show" / "history.md").read_text()


def test_a_commit_twice_is_refused_unless_replaced_in_its_place(
        runs: list[Path], tmp_path: Path) -> None:
    into = tmp_path / "history"
    for run, sha in zip(runs[:3], SHAS, strict=False):
        add(run, sha, into)
    before = (into / HISTORY).read_bytes()
    twice = refused("add", str(runs[4]), "--commit", SHAS[1], "--into", str(into))
    assert "already in the history" in twice and "--replace" in twice
    assert (into / HISTORY).read_bytes() == before
    add(runs[4], SHAS[1], into, "--replace")
    records = load_history(into)
    assert [r.commit for r in records] == SHAS[:3]
    # the 12 MiB run, in commit 2's place
    assert [r.run_name for r in records] == ["run-1", "run-5", "run-3"]
    assert records[1].value("rss_steady_mb") > records[0].value("rss_steady_mb") + 10


def test_bad_input_is_one_line_and_a_corrupt_history_is_left_as_it_is(
        runs: list[Path], tmp_path: Path) -> None:
    into = tmp_path / "history"
    (tmp_path / "empty").mkdir()
    (tmp_path / "a-file").write_text("")
    for args, said in (
            (("add", str(tmp_path / "nope"), "--commit", SHAS[0]), "nope: not a folder"),
            (("add", str(tmp_path / "empty"), "--commit", SHAS[0]),
             "not a run folder (no meta.json)"),
            (("add", str(runs[0]), "--commit", "main"), "--commit takes a commit SHA"),
            (("add", str(runs[0]), "--commit", SHAS[0], "--commit-time", "yesterday"),
             "--commit-time takes an ISO 8601 time")):
        assert said in refused(*args, "--into", str(into))
    assert "a-file: not a folder; a history is a folder" in refused(
        "add", str(runs[0]), "--commit", SHAS[0], "--into", str(tmp_path / "a-file"))
    assert "no history folder here" in refused("show", "--from", str(into), "-o",
                                               str(tmp_path / "s"))
    assert not into.exists() and not (tmp_path / "s").exists()
    # GIVEN a history whose second line was cut by hand
    add(runs[0], SHAS[0], into)
    add(runs[1], SHAS[1], into)
    lines = (into / HISTORY).read_text().splitlines(keepends=True)
    damaged = (lines[0] + lines[1][:40] + "\n").encode()
    (into / HISTORY).write_bytes(damaged)
    csv_before = (into / HISTORY_CSV).read_bytes()
    # WHEN it is added to (as a user would: a process of its own) and shown
    added = run_cli("history", "add", str(runs[2]), "--commit", SHAS[2], "--into", str(into))
    shown = refused("show", "--from", str(into), "-o", str(tmp_path / "shown"))
    # THEN both refuse it in one line naming the line, and change nothing
    assert_one_line_error(added, 2, f"{into / HISTORY}: line 2 is not a history record")
    assert f"{into / HISTORY}: line 2 is not a history record" in shown
    assert (into / HISTORY).read_bytes() == damaged
    assert (into / HISTORY_CSV).read_bytes() == csv_before
    assert not (tmp_path / "shown").exists()
    # AND a CSV twin edited by hand is refused by add, left as it is
    (into / HISTORY).write_text(lines[0] + lines[1])
    (into / HISTORY_CSV).write_text("edited\n")
    assert "does not match history.jsonl" in refused(
        "add", str(runs[2]), "--commit", SHAS[2], "--into", str(into))
    assert (into / HISTORY_CSV).read_text() == "edited\n"
