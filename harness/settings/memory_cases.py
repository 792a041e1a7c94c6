"""Memory-check cases: from the command line, or `[[tool.harness.check-memory.cases]]`.

A config case's `command` is a list of arguments, or one string split like a shell line with
`shlex.split`: quotes group words, but no shell runs, so pipes, globs and `$VARS` stay literal.
Every case is checked whole before any command runs, so a typo in the last case cannot leave
the first ones measured and the run half done.
"""

from __future__ import annotations

import math
import os
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from session_store_harness.errors import HarnessError

LIMIT_ENV = "HARNESS_MEMORY_LIMIT_MB"
MAX_RUNS = 100
INTERVAL_MS_RANGE = (1.0, 60_000.0)  # under 1 ms the sampler is all it measures; over a minute
# it misses whole commands
REQUIRED_KEYS = ("name", "command", "limit_mb")


@dataclass(frozen=True)
class MemoryCase:
    """A command to measure and the peak RSS it must stay under."""

    name: str
    command: tuple[str, ...]
    limit_mb: float
    runs: int = 1
    env: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    throwaway_home: bool = True

    def __post_init__(self) -> None:
        if not self.command:
            raise HarnessError(f"case {self.name!r}: no command given")
        if not (math.isfinite(self.limit_mb) and self.limit_mb > 0):
            raise HarnessError(f"case {self.name!r}: limit must be positive, got "
                               f"{self.limit_mb}")
        if not 1 <= self.runs <= MAX_RUNS:
            raise HarnessError(f"case {self.name!r}: --runs must be between 1 and {MAX_RUNS}")


def check_timing(interval_ms: float, timeout_s: float) -> None:
    """How often to read memory and how long to wait: a bad value is a one-line error before
    any command runs, not a traceback from `time.sleep` or a command killed at once."""
    low, high = INTERVAL_MS_RANGE
    if not low <= interval_ms <= high:  # also refuses nan
        raise HarnessError(f"--interval-ms must be between {low:g} and {high:g}, got "
                           f"{interval_ms:g}")
    if not (math.isfinite(timeout_s) and timeout_s > 0):
        raise HarnessError(f"--timeout must be a positive number of seconds, got {timeout_s:g}")


def with_env_override(case: MemoryCase, environ: Mapping[str, str] | None = None) -> MemoryCase:
    """`HARNESS_MEMORY_LIMIT_MB_<NAME>` (then `HARNESS_MEMORY_LIMIT_MB`) overrides the limit."""
    environ = os.environ if environ is None else environ
    for name in (limit_variable(case.name), LIMIT_ENV):
        if name in environ:
            try:
                limit = parse_limit(_env_number(environ[name]))
            except ValueError as exc:
                raise HarnessError(f"{name} {exc}") from None
            return MemoryCase(case.name, case.command, limit, case.runs, case.env,
                              case.throwaway_home)
    return case


def limit_variable(name: str) -> str:
    """The variable overriding case `name`'s limit: each character other than an ASCII letter
    or digit becomes `_`, letters upper case (`status-json` -> `..._STATUS_JSON`)."""
    return f"{LIMIT_ENV}_{re.sub(r'[^A-Za-z0-9]', '_', name).upper()}"


def cases_from_config(path: Path) -> list[MemoryCase]:
    """Every case in the file, each checked whole: the first problem is a one-line error."""
    from session_store_harness.settings.project_config import load_project

    # one reader and one schema for the whole file: a pyproject.toml's [tool.harness] or a
    # harness.toml's top level alike
    section = load_project(path).table.check_memory
    tables = _case_tables(None if section is None else section.cases, path)
    cases = [_case_from_table(table, number, path) for number, table in enumerate(tables, 1)]
    _check_distinct(cases, path)
    return cases


def _check_distinct(cases: list[MemoryCase], path: Path) -> None:
    """The output, the failure list and the limit variables all go by name, so no two cases
    may share a name or a limit variable (one override would silently move both limits)."""
    by_variable: dict[str, str] = {}
    for case in cases:
        variable = limit_variable(case.name)
        other = by_variable.get(variable)
        if other == case.name:
            raise HarnessError(f"{path}: two memory cases are named {case.name!r}")
        if other is not None:
            raise HarnessError(f"{path}: memory cases {other!r} and {case.name!r} share the "
                               f"limit variable {variable}; rename one")
        by_variable[variable] = case.name


def split_command(value: object) -> tuple[str, ...]:
    """A list of strings as given, or a string split like a shell line (`shlex.split`)."""
    if isinstance(value, str):
        try:
            words = shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"cannot be split like a shell line ({exc})") from None
    elif isinstance(value, list):
        wrong = [word for word in value if not isinstance(word, str)]
        if wrong:
            raise ValueError(f"must hold only strings, got {wrong[0]!r}")
        words = value
    else:
        raise ValueError(f"must be a list of strings or a string, got {value!r}")
    if not words:
        raise ValueError("is empty")
    return tuple(words)


def parse_limit(value: object) -> float:
    """A limit in MB: a positive, finite number (TOML allows `inf` and `nan`; they are refused)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"must be a positive number, got {value!r}")
    return float(value)


def _env_number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"must be a number, got {text!r}") from None


def _case_tables(tables: Any, path: Path) -> list[dict[str, Any]]:
    if not tables:
        raise HarnessError(f"{path}: no [[tool.harness.check-memory.cases]] found (in a "
                           "harness.toml: [[check-memory.cases]])")
    if not (isinstance(tables, list) and all(isinstance(table, dict) for table in tables)):
        raise HarnessError(f"{path}: tool.harness.check-memory.cases must be an array of "
                           "tables ([[tool.harness.check-memory.cases]])")
    return tables


def _case_from_table(table: dict[str, Any], number: int, path: Path) -> MemoryCase:
    name = table.get("name")
    # a case without a usable name is still named exactly: by its place in the file
    where = (f"{path}: memory case {name!r}" if isinstance(name, str) and name.strip()
             else f"{path}: memory case #{number}")
    unknown = sorted(set(table) - set(PARSERS))
    if unknown:
        raise HarnessError(f"{where}: unknown key(s) {', '.join(unknown)} "
                           f"(known: {', '.join(PARSERS)})")
    missing = [key for key in REQUIRED_KEYS if key not in table]
    if missing:
        raise HarnessError(f"{where}: missing key(s) {', '.join(missing)}")
    values = {}
    for key, value in table.items():
        try:
            values[key] = PARSERS[key](value)
        except ValueError as exc:
            raise HarnessError(f"{where}: {key} {exc}") from None
    return MemoryCase(**values)


def _parse_name(value: object) -> str:
    if not (isinstance(value, str) and value.strip()):
        raise ValueError(f"must be a non-empty string, got {value!r}")
    return value


def _parse_runs(value: object) -> int:
    # bool is an int to Python, but `runs = true` is a mistake, not one run
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be a whole number, got {value!r}")
    if not 1 <= value <= MAX_RUNS:
        raise ValueError(f"must be between 1 and {MAX_RUNS}, got {value}")
    return value


def _parse_env(value: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        raise ValueError(f"must be a table of NAME = \"value\", got {value!r}")
    for name, text in value.items():
        if not name or "=" in name:
            raise ValueError(f"has a bad variable name {name!r}")
        if not isinstance(text, str):
            raise ValueError(f"{name} must be a string (quote it), got {text!r}")
    return tuple(value.items())


def _parse_flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {value!r}")
    return value


# The keys a case may have, in the order the error messages list them.
PARSERS: dict[str, Callable[[Any], Any]] = {
    "name": _parse_name, "command": split_command, "limit_mb": parse_limit,
    "runs": _parse_runs, "env": _parse_env, "throwaway_home": _parse_flag,
}
