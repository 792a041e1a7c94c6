"""The one place result files are written: new folders only, files replaced atomically."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from session_store_harness.errors import HarnessError


def new_result_folder(results_dir: Path, label: str, now: datetime | None = None) -> Path:
    """Create `<results_dir>/<timestamp>-<label>`, adding a counter rather than reuse one."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    _ensure_dir(results_dir)
    for attempt in range(1, 1000):
        name = f"{stamp}-{label}" + (f"-{attempt}" if attempt > 1 else "")
        try:
            return create_folder(results_dir / name)
        except HarnessError:
            continue
    raise HarnessError(f"{results_dir}: cannot find a free folder name for {stamp}-{label}")


def create_folder(folder: Path) -> Path:
    """Create a folder that must not exist yet: results are never overwritten."""
    _ensure_dir(folder.parent)
    try:
        folder.mkdir()
    except FileExistsError:
        raise HarnessError(f"{folder}: already exists; results are never overwritten") from None
    except PermissionError:
        raise HarnessError(f"{folder.parent}: no permission to create a result folder") from None
    return folder


def write_text(path: Path, text: str) -> None:
    """Write via a temporary name and rename, so no reader sees a half-written file."""
    write_bytes(path, text.encode("utf-8"))


def write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise HarnessError(f"{path}: cannot write ({exc.strerror})") from None


def _ensure_dir(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise HarnessError(f"{folder}: a file is in the way of this folder") from None
    except PermissionError:
        raise HarnessError(f"{folder}: no permission to create this folder") from None
    if not os.access(folder, os.W_OK):
        raise HarnessError(f"{folder}: folder is not writable")
