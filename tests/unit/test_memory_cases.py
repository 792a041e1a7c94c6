"""Memory cases from a config file: every case checked whole, each problem in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from session_store_harness.errors import EXIT_USAGE, HarnessError
from session_store_harness.settings.memory_cases import (
    MemoryCase,
    cases_from_config,
    check_timing,
    limit_variable,
    split_command,
    with_env_override,
)

GOOD_CASE = """
[[tool.harness.check-memory.cases]]
name = "first"
command = ["python3", "-c", "pass"]
limit_mb = 100
"""


def config_with(tmp_path: Path, second_case: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(f"[project]\nname = \"demo\"\n{GOOD_CASE}\n"
                    f"[[tool.harness.check-memory.cases]]\n{second_case}\n")
    return path


def refusal(path: Path) -> str:
    with pytest.raises(HarnessError) as caught:
        cases_from_config(path)
    assert caught.value.exit_code == EXIT_USAGE
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    return message


def test_every_key_is_read(tmp_path: Path) -> None:
    path = config_with(tmp_path, """name = "second"
command = "python3 -c 'print(\\"two words\\")' --flag"
limit_mb = 50.5
runs = 3
env = { PYTHONMALLOC = "malloc" }
throwaway_home = false""")
    first, second = cases_from_config(path)
    assert first == MemoryCase("first", ("python3", "-c", "pass"), 100.0)
    assert second == MemoryCase("second", ("python3", "-c", 'print("two words")', "--flag"),
                                50.5, 3, (("PYTHONMALLOC", "malloc"),), throwaway_home=False)


def test_a_string_command_is_split_like_a_shell_line() -> None:
    assert split_command("mycli status --json") == ("mycli", "status", "--json")
    assert split_command("a 'b c' \"d e\" f\\ g") == ("a", "b c", "d e", "f g")
    # no shell runs: its operators stay plain words
    assert split_command("echo $HOME | wc") == ("echo", "$HOME", "|", "wc")
    assert split_command(["a b", "c"]) == ("a b", "c")


@pytest.mark.parametrize(("second_case", "fragments"), [
    ('name = "second"\ncommand = ""\nlimit_mb = 10', ("'second'", "command is empty")),
    ('name = "second"\ncommand = "   "\nlimit_mb = 10', ("'second'", "command is empty")),
    ('name = "second"\ncommand = []\nlimit_mb = 10', ("'second'", "command is empty")),
    ('name = "second"\ncommand = "python3 -c \'pass"\nlimit_mb = 10',
     ("'second'", "command cannot be split like a shell line")),
    ('name = "second"\ncommand = ["python3", 3]\nlimit_mb = 10',
     ("'second'", "command must hold only strings, got 3")),
    ('name = "second"\ncommand = 3\nlimit_mb = 10', ("'second'", "command must be a list")),
    ('name = "second"\ncommand = ["x"]\nlimit_mb = "10"', ("'second'", "limit_mb must be a")),
    ('name = "second"\ncommand = ["x"]\nlimit_mb = 0', ("'second'", "limit_mb must be a pos")),
    ('name = "second"\ncommand = ["x"]\nlimit_mb = nan', ("'second'", "limit_mb must be a pos")),
    ('name = "second"\ncommand = ["x"]\nlimit_mb = true', ("'second'", "limit_mb must be a")),
    ('name = "second"\ncommand = ["x"]\nlimit_mb = 10\nruns = "3"', ("'second'", "runs must")),
    ('name = "second"\ncommand = ["x"]\nlimit_mb = 10\nruns = 2.5', ("'second'", "runs must")),
    ('name = "second"\ncommand = ["x"]\nlimit_mb = 10\nruns = 0', ("'second'", "runs must be")),
    ('name = "second"\ncommand = ["x"]\nlimit_mb = 10\nenv = { A = 1 }',
     ("'second'", "env A must be a string")),
    ('name = "second"\ncommand = ["x"]\nlimit_mb = 10\nenv = "A=1"', ("'second'", "env must")),
    ('name = "second"\ncommand = ["x"]\nlimit_mb = 10\nthrowaway_home = "no"',
     ("'second'", "throwaway_home must be true or false")),
    ('name = "second"\ncommand = ["x"]\nlimit_mb = 10\ncolour = "red"\nlimit = 5',
     ("'second'", "unknown key(s) colour, limit")),
    ('name = "second"\ncommand = ["x"]', ("'second'", "missing key(s) limit_mb")),
    ('command = ["x"]\nlimit_mb = 10', ("case #2", "missing key(s) name")),
    ('name = ""\ncommand = ["x"]\nlimit_mb = 10', ("case #2", "name must be a non-empty")),
    ('name = 7\ncommand = ["x"]\nlimit_mb = 10', ("case #2", "name must be a non-empty")),
    ('name = "first"\ncommand = ["x"]\nlimit_mb = 10', ("two memory cases are named 'first'",)),
    # one HARNESS_MEMORY_LIMIT_MB_FIRST would move both limits
    ('name = "FIRST"\ncommand = ["x"]\nlimit_mb = 10',
     ("memory cases 'first' and 'FIRST' share the limit variable HARNESS_MEMORY_LIMIT_MB_FIRST",)),
])
def test_a_bad_second_case_is_refused_naming_file_case_and_key(
        tmp_path: Path, second_case: str, fragments: tuple[str, ...]) -> None:
    message = refusal(config_with(tmp_path, second_case))
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize("text", [
    "",  # no cases at all
    "[tool.harness.check-memory]\ncases = 3\n",
    "[tool.harness.check-memory]\ncases = [1, 2]\n",
    "tool = 3\n",
    "[[tool.harness.check-memory.cases]\n",  # not TOML
])
def test_a_file_without_usable_cases_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "memory.toml"
    path.write_text(text)
    refusal(path)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    assert "no such file" in refusal(tmp_path / "missing.toml")


def test_limit_overrides_from_the_environment() -> None:
    case = MemoryCase("big-one", ("x",), 50)
    assert with_env_override(case, {}).limit_mb == 50
    assert with_env_override(case, {"HARNESS_MEMORY_LIMIT_MB": "70"}).limit_mb == 70
    assert with_env_override(case, {"HARNESS_MEMORY_LIMIT_MB": "70",
                                    "HARNESS_MEMORY_LIMIT_MB_BIG_ONE": "500"}).limit_mb == 500
    for bad in ("lots", "0", "-5", "inf"):
        with pytest.raises(HarnessError, match="HARNESS_MEMORY_LIMIT_MB_BIG_ONE must be"):
            with_env_override(case, {"HARNESS_MEMORY_LIMIT_MB_BIG_ONE": bad})


def test_names_that_differ_only_in_punctuation_share_a_limit_variable(tmp_path: Path) -> None:
    assert limit_variable("a b") == limit_variable("a-b") == "HARNESS_MEMORY_LIMIT_MB_A_B"
    path = tmp_path / "memory.toml"
    path.write_text('[[tool.harness.check-memory.cases]]\nname = "a b"\ncommand = ["x"]\n'
                    'limit_mb = 10\n[[tool.harness.check-memory.cases]]\nname = "a-b"\n'
                    'command = ["y"]\nlimit_mb = 20\n')
    assert refusal(path) == (f"{path}: memory cases 'a b' and 'a-b' share the limit variable "
                             "HARNESS_MEMORY_LIMIT_MB_A_B; rename one")


@pytest.mark.parametrize(("interval_ms", "timeout_s"), [(1, 0.001), (60_000, 1e9), (10, 600)])
def test_timing_in_range_is_accepted(interval_ms: float, timeout_s: float) -> None:
    check_timing(interval_ms, timeout_s)


@pytest.mark.parametrize(("interval_ms", "timeout_s", "fragment"), [
    (-5, 600, "--interval-ms must be between 1 and 60000, got -5"),
    (0.5, 600, "--interval-ms"),
    (60_000.5, 600, "--interval-ms"),
    (float("nan"), 600, "--interval-ms"),
    (10, -5, "--timeout must be a positive number of seconds, got -5"),
    (10, 0, "--timeout"),
    (10, float("nan"), "--timeout"),
    (10, float("inf"), "--timeout"),
])
def test_timing_out_of_range_is_one_usage_error(interval_ms: float, timeout_s: float,
                                                fragment: str) -> None:
    with pytest.raises(HarnessError) as caught:
        check_timing(interval_ms, timeout_s)
    assert caught.value.exit_code == EXIT_USAGE and fragment in str(caught.value)


def test_a_harness_toml_holds_its_cases_at_the_top_level(tmp_path: Path) -> None:
    # the same file layout every other [tool.harness] table has in a harness.toml
    path = tmp_path / "harness.toml"
    path.write_text(GOOD_CASE.replace("tool.harness.", ""))
    assert [case.name for case in cases_from_config(path)] == ["first"]
