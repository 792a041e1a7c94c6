"""Memory-check cases: from the command line, or `[[tool.harness.check-memory.cases]]`."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import HarnessError

LIMIT_ENV = "HARNESS_MEMORY_LIMIT_MB"


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
        if self.limit_mb <= 0:
            raise HarnessError(f"case {self.name!r}: limit must be positive, got "
                               f"{self.limit_mb}")
        if not 1 <= self.runs <= 100:
            raise HarnessError(f"case {self.name!r}: --runs must be between 1 and 100")


def with_env_override(case: MemoryCase, environ: dict[str, str] | None = None) -> MemoryCase:
    """`HARNESS_MEMORY_LIMIT_MB_<NAME>` (then `HARNESS_MEMORY_LIMIT_MB`) overrides the limit."""
    environ = os.environ if environ is None else environ
    specific = f"{LIMIT_ENV}_{re.sub(r'[^A-Za-z0-9]', '_', case.name).upper()}"
    for name in (specific, LIMIT_ENV):
        if name in environ:
            try:
                limit = float(environ[name])
            except ValueError:
                raise HarnessError(f"{name} must be a number, got {environ[name]!r}") from None
            return MemoryCase(case.name, case.command, limit, case.runs, case.env,
                              case.throwaway_home)
    return case


def cases_from_config(path: Path) -> list[MemoryCase]:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise HarnessError(f"{path}: cannot read memory cases ({exc})") from None
    tables = data.get("tool", {}).get("harness", {}).get("check-memory", {}).get("cases", [])
    if not tables:
        raise HarnessError(f"{path}: no [[tool.harness.check-memory.cases]] found")
    cases = []
    for table in tables:
        try:
            cases.append(MemoryCase(
                name=str(table["name"]), command=tuple(map(str, table["command"])),
                limit_mb=float(table["limit_mb"]), runs=int(table.get("runs", 1)),
                env=tuple((str(k), str(v)) for k, v in table.get("env", {}).items()),
                throwaway_home=bool(table.get("throwaway_home", True))))
        except (KeyError, TypeError, ValueError) as exc:
            raise HarnessError(f"{path}: bad memory case {table.get('name', '?')!r}: "
                               f"{exc}") from None
    return cases
