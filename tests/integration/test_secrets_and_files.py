"""What a result may hold and how it lands on disk: no secrets, private modes, no symlinks
followed. Every test runs the real CLI in a child process on real files."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from session_store_harness.errors import HarnessError
from session_store_harness.model.redaction import REDACTED
from session_store_harness.writers.folder import write_text
from tests.conftest import REPO, assert_one_line_error, run_cli

SECRETS = {"OPENCLAW_TOKEN": "tok-9f1c2e7a", "HARNESS_DB_PASSWORD": "pw-0b5d33c1",
           "OPENCLAW_API_KEY": "key-77aa01fe"}
RUN_ARGS = ("run", "--store", "wholefile", "--profile", "pr", "--target-kb", "20", "--cycles",
            "2", "--sample-every", "1", "--repeat", "1", "--no-progress")
GOLDEN_RUN = REPO / "tests" / "golden" / "before"
OUTSIDE_TEXT = "not the harness's to write\n"
# Imported by the worker's interpreter (via the worker's own PYTHONPATH) before it runs: it
# records the values the worker was started with, to show only what is written is redacted.
SITECUSTOMIZE = """import json, os, sys
if "--msg-fd" in sys.argv:
    names = ("OPENCLAW_TOKEN", "HARNESS_DB_PASSWORD", "OPENCLAW_API_KEY")
    with open(os.path.join(os.path.dirname(__file__), f"seen-{os.getpid()}.json"), "w") as f:
        json.dump({name: os.environ.get(name) for name in names}, f)
"""


def cli(*args: str, env: dict[str, str] | None = None, umask: int = -1,
        ) -> subprocess.CompletedProcess[str]:
    """`harness ARGS...` in a child process, with extra environment and a umask."""
    return subprocess.run([sys.executable, "-m", "session_store_harness.cli", *args],
                          capture_output=True, text=True, timeout=240, cwd=REPO,
                          env={**os.environ, **(env or {})}, umask=umask)


def grep(folder: Path, value: str) -> subprocess.CompletedProcess[str]:
    """`grep -r` as a user would search a result folder (exit 1: not found)."""
    return subprocess.run(["grep", "-r", "-F", "--", value, str(folder)], capture_output=True,
                          text=True)


def outside_file(tmp_path: Path) -> Path:
    """A file the harness must never write: the target of every planted symlink."""
    target = tmp_path / "outside" / "precious.txt"
    target.parent.mkdir()
    target.write_text(OUTSIDE_TEXT)
    return target


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


# ---- 1. no secrets in results -----------------------------------------------------------------

def test_run_writes_no_secret_from_the_environment_or_env_options(tmp_path: Path) -> None:
    # GIVEN two secrets in the environment and one (both --env forms) for the worker
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
    folder = tmp_path / "result"
    env = {k: v for k, v in SECRETS.items() if k != "OPENCLAW_API_KEY"}
    result = cli(*RUN_ARGS, "--env", f"OPENCLAW_API_KEY={SECRETS['OPENCLAW_API_KEY']}",
                 f"--env=HARNESS_AUTH_HEADER=Bearer {SECRETS['OPENCLAW_TOKEN']}",
                 "--env", f"PYTHONPATH={hook}", "--run-dir", str(folder), env=env)
    assert result.returncode == 0, result.stderr
    # THEN no secret value is anywhere in the result folder
    for name, value in SECRETS.items():
        found = grep(folder, value)
        assert found.returncode == 1, (name, found.stdout)
    # AND meta.json names each variable with its value blanked, wherever it was recorded
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["environment"]["env"]["OPENCLAW_TOKEN"] == REDACTED
    assert meta["environment"]["env"]["HARNESS_DB_PASSWORD"] == REDACTED
    assert meta["environment"]["env"]["OPENCLAW_API_KEY"] == REDACTED
    assert meta["config"]["env"] == {"OPENCLAW_API_KEY": REDACTED,
                                     "HARNESS_AUTH_HEADER": REDACTED, "PYTHONPATH": str(hook)}
    assert f"OPENCLAW_API_KEY={REDACTED}" in meta["argv"]
    assert f"--env=HARNESS_AUTH_HEADER={REDACTED}" in meta["argv"]
    # AND the worker itself was started with the real values
    seen = [json.loads(p.read_text()) for p in hook.glob("seen-*.json")]
    assert seen == [SECRETS]


def test_only_the_variables_the_harness_needs_are_recorded(tmp_path: Path) -> None:
    folder = tmp_path / "result"
    result = cli(*RUN_ARGS, "--run-dir", str(folder),
                 env={"UNRELATED_SETTING": "visible-1", "GITHUB_TOKEN": "ghp-5e2a9c"})
    assert result.returncode == 0, result.stderr
    recorded = json.loads((folder / "meta.json").read_text())["environment"]["env"]
    assert "UNRELATED_SETTING" not in recorded and "GITHUB_TOKEN" not in recorded
    assert grep(folder, "ghp-5e2a9c").returncode == 1


def test_sweep_json_and_cell_meta_hold_no_secret(tmp_path: Path) -> None:
    folder = tmp_path / "sweep"
    result = cli("sweep", "--sizes", "20", "--stores", "wholefile", "--reuse", "no",
                 "--profile", "pr", "--cycles", "2", "--sample-every", "1", "--repeat", "1",
                 "--env", f"OPENCLAW_API_KEY={SECRETS['OPENCLAW_API_KEY']}", "-o", str(folder),
                 env={"OPENCLAW_TOKEN": SECRETS["OPENCLAW_TOKEN"]})
    assert result.returncode == 0, result.stderr
    for value in (SECRETS["OPENCLAW_API_KEY"], SECRETS["OPENCLAW_TOKEN"]):
        assert grep(folder, value).returncode == 1
    assert f"OPENCLAW_API_KEY={REDACTED}" in json.loads((folder / "sweep.json").read_text())[
        "argv"]


# ---- 2. private modes whatever the umask -------------------------------------------------------

@pytest.mark.parametrize("umask", [0o000, 0o277], ids=["umask-000", "umask-277"])
def test_results_are_0600_files_in_0700_folders_whatever_the_umask(tmp_path: Path,
                                                                  umask: int) -> None:
    # GIVEN a umask that would leave results world-readable (or, 0277, not even owner-writable)
    if umask & 0o200 and os.geteuid() != 0:
        pytest.skip("without write permission on its own folders only root can run at all")
    results = tmp_path / "made" / "results"
    ran = cli(*RUN_ARGS, "--results-dir", str(results), umask=umask)
    assert ran.returncode == 0, ran.stderr
    (run_folder,) = results.iterdir()
    report = tmp_path / "report.md"
    reported = cli("report", str(run_folder), "-o", str(report), umask=umask)
    assert reported.returncode == 0, reported.stderr
    store = tmp_path / "sessions.json"
    made = cli("generate", "--profile", "pr", "--target-kb", "20", "-o", str(store), umask=umask)
    assert made.returncode == 0, made.stderr
    # THEN every folder the harness made is 0700, every file it wrote 0600
    assert {mode(p) for p in (tmp_path / "made", results, run_folder)} == {0o700}
    files = [*run_folder.iterdir(), report, store]
    assert len(files) > 5 and {p.name: mode(p) for p in files} == dict.fromkeys(
        (p.name for p in files), 0o600)


def test_a_run_dir_and_its_missing_parents_are_0700(tmp_path: Path) -> None:
    folder = tmp_path / "a" / "b" / "run"
    ran = cli(*RUN_ARGS, "--run-dir", str(folder), umask=0)
    assert ran.returncode == 0, ran.stderr
    assert {mode(p) for p in (tmp_path / "a", tmp_path / "a" / "b", folder)} == {0o700}


# ---- 3. no write through a symlink ------------------------------------------------------------

def test_report_ignores_a_symlink_at_the_old_temporary_name(tmp_path: Path) -> None:
    # GIVEN a symlink where the harness used to put its temporary file
    outside = outside_file(tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / ".report.md.partial").symlink_to(outside)
    report = out_dir / "report.md"
    result = run_cli("report", str(GOLDEN_RUN), "-o", str(report))
    # THEN the report is a regular file and the link's target is untouched
    assert result.returncode == 0, result.stderr
    assert outside.read_text() == OUTSIDE_TEXT
    assert not report.is_symlink() and report.read_text().startswith("#")
    assert sorted(p.name for p in out_dir.iterdir()) == [".report.md.partial", "report.md"]


@pytest.mark.parametrize("dangling", [False, True])
def test_report_refuses_a_symlink_at_the_destination_without_force(tmp_path: Path,
                                                                   dangling: bool) -> None:
    outside = outside_file(tmp_path)
    target = tmp_path / "outside" / "not-there.md" if dangling else outside
    report = tmp_path / "report.md"
    report.symlink_to(target)
    result = run_cli("report", str(GOLDEN_RUN), "-o", str(report))
    assert_one_line_error(result, 2, str(report))
    assert len(result.stderr.strip().splitlines()) == 1
    assert outside.read_text() == OUTSIDE_TEXT and not (tmp_path / "outside" / "not-there.md"
                                                        ).exists()
    assert report.is_symlink() and os.readlink(report) == str(target)  # left as it was
    # WITH --force the link itself is replaced by the report; its target stays untouched
    forced = run_cli("report", str(GOLDEN_RUN), "-o", str(report), "--force")
    assert forced.returncode == 0, forced.stderr
    assert not report.is_symlink() and report.is_file()
    assert outside.read_text() == OUTSIDE_TEXT
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outside", "report.md"]


# The old temporary name held the generating process's pid: this child plants the link at its
# own name, then generates in the same process, as an attacker who guessed the pid would.
PLANT_AND_GENERATE = """import os, sys
out, outside = sys.argv[1], sys.argv[2]
os.symlink(outside, os.path.join(os.path.dirname(out),
                                 f".{os.path.basename(out)}.{os.getpid()}.partial"))
from session_store_harness.cli import main
main(["generate", "--profile", "pr", "--target-kb", "20", "-o", out])
"""


def test_generate_ignores_a_symlink_at_the_old_temporary_name(tmp_path: Path) -> None:
    outside = outside_file(tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "sessions.json"
    result = subprocess.run([sys.executable, "-c", PLANT_AND_GENERATE, str(out), str(outside)],
                            capture_output=True, text=True, timeout=120, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert outside.read_text() == OUTSIDE_TEXT
    assert not out.is_symlink() and out.stat().st_size == 20 * 1024
    # the planted link is left alone, and is the only other name in the folder
    (planted,) = [p for p in out_dir.iterdir() if p.is_symlink()]
    assert planted.name.endswith(".partial") and os.readlink(planted) == str(outside)
    assert [p.name for p in out_dir.iterdir() if not p.is_symlink()] == ["sessions.json"]


@pytest.mark.parametrize("dangling", [False, True])
def test_generate_refuses_a_symlink_at_the_destination_without_force(tmp_path: Path,
                                                                     dangling: bool) -> None:
    outside = outside_file(tmp_path)
    target = tmp_path / "outside" / "not-there.json" if dangling else outside
    out = tmp_path / "sessions.json"
    out.symlink_to(target)
    args = ("generate", "--profile", "pr", "--target-kb", "20", "-o", str(out))
    refused = run_cli(*args)
    assert_one_line_error(refused, 2, str(out), "--force")
    assert len(refused.stderr.strip().splitlines()) == 1
    assert outside.read_text() == OUTSIDE_TEXT and not (tmp_path / "outside" / "not-there.json"
                                                        ).exists()
    assert out.is_symlink()  # left as it was
    forced = run_cli(*args, "--force")
    assert forced.returncode == 0, forced.stderr
    assert not out.is_symlink() and out.stat().st_size == 20 * 1024 and mode(out) == 0o600
    assert outside.read_text() == OUTSIDE_TEXT
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outside", "sessions.json"]


def test_write_text_replaces_a_symlink_only_when_forced_never_its_target(tmp_path: Path,
                                                                         ) -> None:
    target = tmp_path / "meta.json"
    write_text(target, "{}\n")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    with pytest.raises(HarnessError, match="symbolic link"):
        write_text(link, "over\n")
    assert target.read_text() == "{}\n"
    write_text(link, "over\n", force=True)  # replaces the link, not its target
    assert target.read_text() == "{}\n" and not link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "meta.json"]


# ---- 4. secrets by value, wherever they turn up ------------------------------------------------

def test_run_blanks_a_secret_value_under_any_name_in_meta_and_stderr(tmp_path: Path) -> None:
    # GIVEN a secret in the environment, reused in the label, a harmless-named --env (which
    # makes the worker's Python print it to stderr) and the store file's path
    secret = SECRETS["OPENCLAW_TOKEN"]
    store_file = tmp_path / f"data-{secret}" / "sessions.json"
    store_file.parent.mkdir()
    made = cli("generate", "--profile", "pr", "--target-kb", "20", "-o", str(store_file))
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "result"
    result = cli("run", "--store", "wholefile", "--store-file", str(store_file), "--cycles", "2",
                 "--sample-every", "1", "--repeat", "1", "--no-progress",
                 "--label", f"lbl-{secret}", "--env", f"PYTHONWARNINGS={secret}",
                 "--run-dir", str(folder), env={"OPENCLAW_TOKEN": secret})
    assert result.returncode == 0, result.stderr
    # THEN the value is nowhere in the folder, though the worker did print it
    assert (folder / "worker-1-stderr.txt").exists()
    found = grep(folder, secret)
    assert found.returncode == 1, found.stdout
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["config"]["label"] == f"lbl-{REDACTED}"
    assert meta["config"]["env"] == {"PYTHONWARNINGS": REDACTED}
    assert REDACTED in meta["config"]["store_file"] and REDACTED in meta["store"]["source"]
    assert REDACTED in (folder / "worker-1-stderr.txt").read_text()


# ---- 5. harness bench writes its -o as every other result ---------------------------------------

# Runs `harness bench` with pyperf replaced by a stand-in that writes its -o as pyperf does:
# plain open(), following symlinks, with the umask's mode.
FAKE_PYPERF_BENCH = """import os, subprocess, sys
def fake_pyperf(command, *args, **kwargs):
    with open(command[command.index("-o") + 1], "w") as f:
        f.write('{"benchmarks": []}')
    return subprocess.CompletedProcess(command, 0)
subprocess.run = fake_pyperf
os.umask(0)
from session_store_harness.cli import main
main(["bench", "--store", "wholefile", "--profile", "pr", "--target-kb", "20", "-o", sys.argv[1]])
"""


def fake_bench(out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", FAKE_PYPERF_BENCH, str(out)],
                          capture_output=True, text=True, timeout=120, cwd=REPO)


def test_bench_writes_its_output_0600_whatever_the_umask(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = fake_bench(out)
    assert result.returncode == 0, result.stderr
    assert out.read_text() == '{"benchmarks": []}' and mode(out) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["bench.json"]  # no temporary left


@pytest.mark.parametrize("planted", ["dangling-link", "link", "file"])
def test_bench_refuses_an_existing_or_linked_output_up_front(tmp_path: Path,
                                                             planted: str) -> None:
    outside = outside_file(tmp_path)
    missing = tmp_path / "outside" / "not-there.json"
    out = tmp_path / "bench.json"
    if planted == "file":
        out.write_text(OUTSIDE_TEXT)
    else:
        out.symlink_to(missing if planted == "dangling-link" else outside)
    result = fake_bench(out)
    assert_one_line_error(result, 2, str(out))
    assert len(result.stderr.strip().splitlines()) == 1
    assert outside.read_text() == OUTSIDE_TEXT and not missing.exists()
    assert out.is_symlink() == (planted != "file")
