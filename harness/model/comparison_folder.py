"""A `harness compare` folder's `comparison.json`: where its two run folders are, read and
written by this module's rules only.

Version 2 records each run folder relative to the compare folder (`before`, `after`) and, as a
fallback, absolute (`before_absolute`, `after_absolute`): a results tree moved or copied whole
(runs and compare folder together) still resolves, and so does a compare folder moved alone
while the runs stay put. Version 1 recorded the absolute paths only; it is still read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from session_store_harness.errors import HarnessError

COMPARISON = "comparison.json"
SCHEMA_VERSION = 2  # 2: run folders relative to the compare folder, absolute beside; 1: absolute
ROLES = ("before", "after")


def is_comparison_folder(folder: Path) -> bool:
    return (folder / COMPARISON).is_file()


def source_fields(before: Path, after: Path, folder: Path | None) -> dict[str, str]:
    """The run folders as `comparison.json` records them, for a compare folder `folder`.

    Without the compare folder no relative path can be given: `before`/`after` are then the
    absolute paths too (a compare folder moved with its runs will not find them).
    """
    fields: dict[str, str] = {}
    for role, run_folder in zip(ROLES, (before, after), strict=True):
        absolute = run_folder.resolve()
        fields[role] = str(absolute) if folder is None else os.path.relpath(absolute,
                                                                             folder.resolve())
        fields[f"{role}_absolute"] = str(absolute)
    return fields


def load_comparison_sources(folder: Path) -> tuple[Path, Path]:
    """The compare folder's before and after run folders; a problem is one line naming the
    file (and the key)."""
    path = folder / COMPARISON
    data = _read_object(path)
    version = data.get("schema_version")
    if isinstance(version, bool) or version not in (1, SCHEMA_VERSION):
        raise HarnessError(f"{path}: schema_version {version!r} is not one this harness reads "
                           f"(1 or {SCHEMA_VERSION}); was it written by a newer harness?")
    before, after = (_run_folder(data, role, version, folder, path) for role in ROLES)
    return before, after


def _read_object(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HarnessError(f"{path}: unreadable ({exc})") from None
    if not isinstance(data, dict):
        raise HarnessError(f"{path}: not a JSON object, got {type(data).__name__}")
    return data


def _run_folder(data: dict[str, Any], role: str, version: int, folder: Path,
                path: Path) -> Path:
    """The recorded path relative to the compare folder if it is there, else the absolute."""
    if version == 1:  # `before`/`after` were absolute
        recorded = absolute = _path_field(data, role, path)
    else:
        recorded = _path_field(data, role, path)
        absolute = _path_field(data, f"{role}_absolute", path)
    # joining keeps an absolute `recorded` as it is; resolving drops the `..` of the relative
    # path, so reports name the folder as version 1 did
    for candidate in (folder / recorded, Path(absolute)):
        if candidate.is_dir():
            return candidate.resolve()
    raise HarnessError(f"{path}: run folder {role} ({os.path.normpath(folder / recorded)}) "
                       f"is gone; it was at {absolute}")


def _path_field(data: dict[str, Any], key: str, path: Path) -> str:
    if key not in data:
        raise HarnessError(f"{path}: missing key {key!r}")
    value = data[key]
    if not (isinstance(value, str) and value):
        raise HarnessError(f"{path}: key {key!r} must be a non-empty path string, got "
                           f"{value!r}")
    return value
