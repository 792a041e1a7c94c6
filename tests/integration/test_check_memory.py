"""`harness check-memory` on real commands: known allocations, child processes, limits."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from session_store_harness.measuring.memcheck import measure_command
from session_store_harness.model.run import MB
from tests.conftest import assert_one_line_error, run_cli

# Allocates N MiB, holds it, optionally runs itself again as a child allocating M MiB, and
# prints its own kernel peak (VmHWM, kB) as the truth to check the harness against.
ALLOCATOR = """
import subprocess, sys, time
from pathlib import Path
blob = b"\\x01" * (int(sys.argv[1]) * 1024 * 1024)
time.sleep(0.25)
if len(sys.argv) > 2:
    subprocess.run([sys.executable, __file__, sys.argv[2]], check=True)
status = Path("/proc/self/status").read_text()
print(next(l.split()[1] for l in status.splitlines() if l.startswith("VmHWM:")))
"""


@pytest.fixture(scope="module")
def allocator(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("alloc") / "allocate.py"
    path.write_text(ALLOCATOR)
    return path


def test_a_known_allocation_is_measured_within_5_percent(allocator: Path) -> None:
    measured = measure_command([sys.executable, str(allocator), "200"])
    truth_bytes = int(measured.output_tail.split()[-1]) * 1024
    assert measured.exit_code == 0
    assert abs(measured.peak_bytes - truth_bytes) < 0.05 * truth_bytes
    assert measured.peak_bytes > 200 * MB


def test_a_child_processs_memory_counts(allocator: Path) -> None:
    alone = measure_command([sys.executable, str(allocator), "10"])
    with_child = measure_command([sys.executable, str(allocator), "10", "150"])
    assert with_child.processes_seen >= 2
    assert with_child.peak_bytes - alone.peak_bytes > 140 * MB


def test_cli_passes_and_fails_on_the_limit(allocator: Path) -> None:
    ok = run_cli("check-memory", "--limit-mb", "400", "--name", "alloc", "--", sys.executable,
                 str(allocator), "100")
    assert ok.returncode == 0, ok.stderr
    line = ok.stdout.strip().splitlines()[-1]
    assert line.startswith("[memory] alloc: ") and line.endswith("MB peak RSS (limit 400 MB)")
    over = run_cli("check-memory", "--limit-mb", "50", "--runs", "2", "--", sys.executable,
                   str(allocator), "100")
    assert over.returncode == 1
    assert "run 2/2" in over.stdout and "(limit 50 MB) FAIL" in over.stdout


def test_cases_from_a_config_file_with_an_env_override(allocator: Path, tmp_path: Path) -> None:
    config = tmp_path / "memory.toml"
    config.write_text(f"""
[[tool.harness.check-memory.cases]]
name = "small"
command = ["{sys.executable}", "{allocator}", "20"]
limit_mb = 200

[[tool.harness.check-memory.cases]]
name = "big-one"
command = ["{sys.executable}", "{allocator}", "120"]
limit_mb = 50
""")
    failing = run_cli("check-memory", "--config", str(config))
    assert failing.returncode == 1 and "over the limit or failed: big-one" in failing.stderr
    env = {**os.environ, "HARNESS_MEMORY_LIMIT_MB_BIG_ONE": "500"}
    passing = run_cli("check-memory", "--config", str(config), env=env)
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "[memory] big-one:" in passing.stdout and "(limit 500 MB)" in passing.stdout


def test_bad_commands_and_input() -> None:
    assert_one_line_error(run_cli("check-memory", "--limit-mb", "10", "--",
                                  "/no/such/program"), 2, "command not found")
    assert_one_line_error(run_cli("check-memory", "--", sys.executable, "-c", "pass"), 2,
                          "--limit-mb")
    failed = run_cli("check-memory", "--limit-mb", "100", "--", sys.executable, "-c",
                     "import sys; print('boom'); sys.exit(4)")
    assert failed.returncode == 1 and "exited with code 4" in failed.stderr
    assert "boom" in failed.stderr


def test_a_string_command_in_a_pyproject_runs_split_like_a_shell_line(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    config = tmp_path / "pyproject.toml"
    # quoted words stay one argument each: the script writes its second argument verbatim
    config.write_text(f"""
[project]
name = "demo"
version = "0.1"

[tool.ruff]
line-length = 100

[[tool.harness.check-memory.cases]]
name = "string-command"
command = '''python3 -c 'import sys; open(sys.argv[1], "w").write(sys.argv[2])' {out} "a  b"'''
limit_mb = 400
""")
    result = run_cli("check-memory", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[memory] string-command: " in result.stdout
    assert out.read_text() == "a  b"


BAD_SECOND_CASES = {
    "unknown key": ('command = ["python3", "-c", "pass"]\nlimit_mb = 100\nlimt_mb = 5',
                    "unknown key(s) limt_mb"),
    "blank string command": ('command = "  "\nlimit_mb = 100', "command is empty"),
    "number in the command": ('command = ["python3", "-c", 1]\nlimit_mb = 100',
                              "command must hold only strings"),
    "runs as a string": ('command = ["python3", "-c", "pass"]\nlimit_mb = 100\nruns = "2"',
                         "runs must be a whole number"),
    "bad limit override": ('command = ["python3", "-c", "pass"]\nlimit_mb = 100',
                           "HARNESS_MEMORY_LIMIT_MB_SECOND must be a number"),
}


@pytest.mark.parametrize("bad", BAD_SECOND_CASES)
def test_a_bad_second_case_stops_the_run_before_the_first_case_starts(tmp_path: Path,
                                                                      bad: str) -> None:
    second_case, fragment = BAD_SECOND_CASES[bad]
    marker = tmp_path / "first-case-ran"
    config = tmp_path / "pyproject.toml"
    config.write_text(f"""
[[tool.harness.check-memory.cases]]
name = "first"
command = ["{sys.executable}", "-c", "import pathlib; pathlib.Path('{marker}').touch()"]
limit_mb = 400

[[tool.harness.check-memory.cases]]
name = "second"
{second_case}
""")
    env = {**os.environ, "HARNESS_MEMORY_LIMIT_MB_SECOND": "lots"} if "override" in bad else None
    result = run_cli("check-memory", "--config", str(config), env=env)
    assert_one_line_error(result, 2, fragment)
    if "override" not in bad:  # the config's problems name the file and the case
        assert f"{config}: memory case 'second'" in result.stderr
    assert not marker.exists()
    assert "[memory] first" not in result.stdout


@pytest.mark.parametrize(("option", "value", "fragment"), [
    ("--interval-ms", "-5", "--interval-ms must be between 1 and 60000, got -5"),
    ("--interval-ms", "0", "--interval-ms must be between 1 and 60000, got 0"),
    ("--interval-ms", "60001", "--interval-ms must be between 1 and 60000, got 60001"),
    ("--interval-ms", "nan", "--interval-ms must be between"),
    ("--timeout", "-5", "--timeout must be a positive number of seconds, got -5"),
    ("--timeout", "0", "--timeout must be a positive number of seconds, got 0"),
])
def test_bad_timing_options_are_refused_before_the_command_runs(tmp_path: Path, option: str,
                                                                 value: str,
                                                                 fragment: str) -> None:
    marker = tmp_path / "ran"
    result = run_cli("check-memory", "--limit-mb", "100", option, value, "--", sys.executable,
                     "-c", f"import pathlib; pathlib.Path({str(marker)!r}).touch()")
    assert_one_line_error(result, 2, fragment)
    assert len(result.stderr.splitlines()) == 1
    assert not marker.exists()


@pytest.mark.parametrize(("options", "named"), [
    (("--limit-mb", "50"), "--limit-mb would be ignored with --config"),
    (("--runs", "1"), "--runs would be ignored"),  # the default value, given: still ignored
    (("--name", "x", "--keep-home"), "--name, --keep-home would be ignored"),
])
def test_case_options_with_a_config_file_are_refused_not_ignored(
        tmp_path: Path, options: tuple[str, ...], named: str) -> None:
    marker = tmp_path / "ran"
    config = tmp_path / "memory.toml"
    config.write_text(f"""
[[tool.harness.check-memory.cases]]
name = "only"
command = ["{sys.executable}", "-c", "import pathlib; pathlib.Path('{marker}').touch()"]
limit_mb = 400
""")
    result = run_cli("check-memory", "--config", str(config), *options)
    assert_one_line_error(result, 2, named, str(config))
    assert not marker.exists()


def test_two_cases_sharing_a_limit_variable_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "memory.toml"
    config.write_text("""
[[tool.harness.check-memory.cases]]
name = "a b"
command = ["true"]
limit_mb = 400

[[tool.harness.check-memory.cases]]
name = "a-b"
command = ["true"]
limit_mb = 50
""")
    assert_one_line_error(run_cli("check-memory", "--config", str(config)), 2,
                          "memory cases 'a b' and 'a-b' share the limit variable "
                          "HARNESS_MEMORY_LIMIT_MB_A_B")
