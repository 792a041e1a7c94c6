"""The user's project configuration: `[tool.harness]` in a pyproject.toml, or a harness.toml.

One schema for the whole table (workload defaults, named stores, `gate`, `check-memory`),
validated at once by pydantic, so a typo anywhere is one line naming the file and the dotted key
before anything runs. Relative paths in the file are taken from the file's folder, not from
where the command was started, so `harness run after` works from any subfolder.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from session_store_harness.errors import HarnessError
from session_store_harness.generating.profiles import PROFILES

HARNESS_TOML = "harness.toml"
PYPROJECT = "pyproject.toml"
PYPROJECT_PREFIX = "tool.harness"
# pydantic's wording, made to read as a rule about the key
_WORDING = (("Input should be ", "must be "), ("Extra inputs are not permitted", "unknown key"),
            ("Field required", "missing"), ("Value error, ", ""))


class _Table(BaseModel):
    # strict: "5" stays a string, so a quoted number is an error rather than a silent guess
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)


class StoreTable(_Table):
    """`[tool.harness.stores.NAME]`: a store spec and how it is run."""

    store: str | None = None
    runtime: Literal["python", "node"] | None = None
    node_args: list[str] = []
    python_path: list[str] = []
    worker_cmd: str | None = None
    env: dict[str, str] = {}
    reuse_loaded_store: bool = False

    @model_validator(mode="after")
    def _names_a_store(self) -> StoreTable:
        if self.store is None and self.worker_cmd is None:
            raise ValueError("give store (a spec) or worker_cmd")
        return self


class GateTable(_Table):
    """`[tool.harness.gate]`: read by `settings/gate_config.py`, which also takes the
    command line's values and so checks the text-or-list ones in its own words."""

    max_peak_rss_mb: float | None = None
    max_growth_mb_per_cycle: float | None = None
    max_regression: Any = None  # "10%" or 0.1
    metrics: Any = None  # a list of names or comma-separated text
    allow_different: Any = None


class CheckMemoryTable(_Table):
    """`[tool.harness.check-memory]`: its cases are checked by `settings/memory_cases.py`,
    which names the case and key in its own words."""

    cases: Any = None


class HarnessTable(_Table):
    """The whole `[tool.harness]` table: workload defaults at the top level."""

    store_file: str | None = None
    profile: str | None = None
    target_kb: int | None = Field(default=None, ge=1)
    entries: int | None = Field(default=None, ge=1)
    seed: int | None = None
    cycles: int | None = Field(default=None, ge=1)
    sample_every: int | None = Field(default=None, ge=1)
    repeat: int | None = Field(default=None, ge=1)
    warmup_cycles: int | None = Field(default=None, ge=0)
    touch_keys: int | None = Field(default=None, ge=1)
    touch_fields: list[str] | None = None
    workload: Literal["full", "entry"] | None = None
    env: dict[str, str] = {}
    stores: dict[str, StoreTable] = {}
    gate: GateTable | None = None
    check_memory: CheckMemoryTable | None = Field(default=None, alias="check-memory")

    @model_validator(mode="after")
    def _known_profile(self) -> HarnessTable:
        if self.profile is not None and self.profile not in PROFILES:
            raise ValueError(f"profile must be one of {', '.join(sorted(PROFILES))}")
        if self.store_file is not None and (self.target_kb or self.entries or self.profile):
            raise ValueError("store_file measures an existing store: drop profile, "
                             "target_kb and entries")
        return self


@dataclass(frozen=True)
class ProjectConfig:
    """A validated configuration and the folder its relative paths start from."""

    folder: Path
    table: HarnessTable = field(default_factory=HarnessTable)
    path: Path | None = None  # None: no file was found

    def path_of(self, written: str) -> Path:
        return (self.folder / written).resolve()

    def store(self, name: str) -> StoreTable | None:
        return self.table.stores.get(name)


def find_config(start: Path) -> Path | None:
    """The nearest harness.toml, or pyproject.toml holding `[tool.harness]`, from `start` up
    to the repository's root (the folder holding .git), as git and ruff look for theirs.
    Outside any repository only `start` itself is looked in: a stray harness.toml in /tmp or
    a home folder must not configure every run made below it."""
    here = start.resolve()
    chain = (here, *here.parents)
    root = next((i for i, folder in enumerate(chain) if (folder / ".git").exists()), None)
    for folder in chain[:1 if root is None else root + 1]:
        if (folder / HARNESS_TOML).is_file():
            return folder / HARNESS_TOML
        if _has_harness(folder / PYPROJECT):
            return folder / PYPROJECT
    return None


def _has_harness(pyproject: Path) -> bool:
    return pyproject.is_file() and "harness" in _read(pyproject).get("tool", {})


def load_project(path: Path | None = None, cwd: Path | None = None) -> ProjectConfig:
    """The configuration at `path` (`--config`), else the nearest one found from `cwd`; with
    none, an empty configuration. Any error is a `HarnessError` (exit 2) in one line."""
    cwd = cwd or Path.cwd()
    if path is None:
        path = find_config(cwd)
        if path is None:
            return ProjectConfig(folder=cwd.resolve())
    elif not path.is_file():
        raise HarnessError(f"{path}: no such file (--config)")
    data = _read(path)
    table, prefix = _harness_table(data, path)
    try:
        validated = HarnessTable.model_validate(table)
    except ValidationError as exc:
        raise HarnessError(_one_line(exc, path, prefix)) from None
    return ProjectConfig(folder=path.resolve().parent, table=validated, path=path)


def _harness_table(data: dict[str, Any], path: Path) -> tuple[Any, str]:
    """The harness's table and its dotted prefix: `[tool.harness]` in a pyproject.toml (or
    any file with a `tool` table), the top level of a harness.toml."""
    if path.name != HARNESS_TOML and "tool" in data:
        if not isinstance(data["tool"], dict):  # `tool = 3`: TOML allows it, nothing reads it
            raise HarnessError(f"{path}: tool must be a table, got {data['tool']!r}")
        return data["tool"].get("harness", {}), PYPROJECT_PREFIX
    return data, ""


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise HarnessError(f"{path}: cannot read ({exc})") from None


def _one_line(exc: ValidationError, path: Path, prefix: str) -> str:
    """The first error as `file: dotted.key: problem`, and how many more there are."""
    errors = exc.errors()
    first = errors[0]
    parts = [*([prefix] if prefix else []), *(str(part) for part in first["loc"])]
    key = ".".join(parts)
    message = first["msg"]
    for pydantic, ours in _WORDING:
        message = message.replace(pydantic, ours)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{path}: {key or '(top level)'}: {message}{more}"
