"""A `harness compare` folder's `comparison.json`: where its two run folders are, read and
written by this module's rules only.

Version 2 records each run folder relative to the compare folder (`before`, `after`) and, as a
fallback, absolute (`before_absolute`, `after_absolute`): a results tree moved or copied whole
(runs and compare folder together) still resolves, and so does a compare folder moved alone
while the runs stay put. Version 1 recorded the absolute paths only; it is still read.

Version 3 also records which run each folder held (`before_run`, `after_run`: its start and
finish times, store name and store sha256): a folder at the recorded path now holding another
run (re-run into the same place, or the results tree swapped for another) is refused rather
than reported as the comparison. Versions 1 and 2 cannot be checked so.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from session_store_harness.errors import HarnessError
from session_store_harness.model.run import Run

COMPARISON = "comparison.json"
# 3: each run's identity beside its folder; 2: run folders relative to the compare folder,
# absolute beside; 1: absolute
SCHEMA_VERSION = 3
VERSIONS = (1, 2, SCHEMA_VERSION)
ROLES = ("before", "after")
RUN_META = "meta.json"  # result_folder.META; not imported, so writers can import this module


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


def identity_fields(before: Run, after: Run) -> dict[str, dict[str, str]]:
    """Which run each role is, as `comparison.json` records it (`before_run`, `after_run`)."""
    return {f"{role}_run": run_identity(run.started_at, run.finished_at, run.config.store,
                                        run.store.sha256)
            for role, run in zip(ROLES, (before, after), strict=True)}


def run_identity(started_at: str, finished_at: str, store: str, sha256: str) -> dict[str, str]:
    # Start and finish times tell two runs of one store apart, the store's name and sha256
    # two runs started in the same second (`harness ab` starts its two side by side).
    return {"started_at": started_at, "finished_at": finished_at, "store": store,
            "store_sha256": sha256}


def load_comparison_sources(folder: Path) -> tuple[Path, Path]:
    """The compare folder's before and after run folders; a problem is one line naming the
    file (and the key)."""
    path = folder / COMPARISON
    data = _read_object(path)
    version = data.get("schema_version")
    if isinstance(version, bool) or version not in VERSIONS:
        raise HarnessError(f"{path}: schema_version {version!r} is not one this harness reads "
                           f"(1, 2 or {SCHEMA_VERSION}); was it written by a newer harness?")
    before, after = (_run_folder(data, role, version, folder, path) for role in ROLES)
    if version >= 3:
        for role, run_folder in zip(ROLES, (before, after), strict=True):
            _check_identity(data, role, run_folder, path)
    return before, after


def _check_identity(data: dict[str, Any], role: str, run_folder: Path, path: Path) -> None:
    """The run now in `run_folder` must be the one compared, or the report would be of
    another run under this comparison's name."""
    recorded = data.get(f"{role}_run")
    if not (isinstance(recorded, dict) and recorded.keys() == run_identity("", "", "", "").keys()
            and all(isinstance(v, str) for v in recorded.values())):
        raise HarnessError(f"{path}: key '{role}_run' must be an object of started_at, "
                           f"finished_at, store and store_sha256 strings, got {recorded!r}")
    if _found_identity(run_folder) != recorded:
        raise HarnessError(f"{path}: the run at {run_folder} is not the one this comparison "
                           f"was made from (it was {role}, started {recorded['started_at']})")


def _found_identity(run_folder: Path) -> dict[str, str] | None:
    """The identity of the run in `run_folder` as its meta.json gives it; None when the file
    cannot tell (loading the run names that problem itself)."""
    try:
        meta = json.loads((run_folder / RUN_META).read_text(encoding="utf-8"))
        return run_identity(meta["started_at"], meta["finished_at"], meta["config"]["store"],
                            meta["store"]["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


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
