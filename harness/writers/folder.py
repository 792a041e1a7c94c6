"""The one place result files are written: new folders only, files replaced atomically.

Results record command lines, environments and machine details that are nobody else's
business, so every folder made here is 0700 and every file 0600, whatever the umask. A file is
written under a fresh random name created with O_EXCL|O_NOFOLLOW (no planted symlink can
redirect the write), synced, then renamed over its destination. A symlink at the destination is
refused unless `force`, and even then the link itself is replaced, its target never written.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from session_store_harness.errors import HarnessError

FOLDER_MODE = 0o700
FILE_MODE = 0o600
# O_EXCL: never open a file someone else made; O_NOFOLLOW: never write through a symlink.
TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
TEMP_NAME_ATTEMPTS = 5  # 64 random bits each: a clash is a sign of foul play, not bad luck


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
    """Create a folder (0700) that must not exist yet: results are never overwritten."""
    _ensure_dir(folder.parent)
    try:
        _make_private_dir(folder)
    except FileExistsError:
        raise HarnessError(f"{folder}: already exists; results are never overwritten") from None
    except PermissionError:
        raise HarnessError(f"{folder.parent}: no permission to create a result folder") from None
    return folder


@contextlib.contextmanager
def optional_result_folder(folder: Path | None) -> Iterator[Path | None]:
    """`-o FOLDER` made before the work (a folder that exists is refused up front, not after
    minutes of it), and removed again if the work stops with an error or Ctrl-C before anything
    was written there: no empty result is left behind. None: no folder asked for."""
    made = create_folder(folder) if folder is not None else None
    try:
        yield made
    except (HarnessError, KeyboardInterrupt):
        if made is not None and not any(made.iterdir()):
            made.rmdir()
        raise


def write_text(path: Path, text: str, *, force: bool = False) -> None:
    """Write via a temporary name and rename, so no reader sees a half-written file."""
    write_bytes(path, text.encode("utf-8"), force=force)


def write_bytes(path: Path, data: bytes, *, force: bool = False) -> None:
    """Write `data` to `path` (0600) atomically; `force` lets a symlink there be replaced."""
    with atomic_file(path, force=force) as handle:
        handle.write(data)


@contextlib.contextmanager
def atomic_file(path: Path, *, force: bool = False,
                encoding: str | None = None) -> Iterator[IO[Any]]:
    """A handle on a new private file that becomes `path` when the block ends.

    Binary, or text in `encoding` (newlines as written). If the block raises, the temporary
    file is removed and `path` is untouched; an OSError becomes a one-line HarnessError.
    """
    _refuse_symlink(path, force)
    fd, tmp = _create_temporary(path)
    try:
        with os.fdopen(fd, "w" if encoding else "wb", encoding=encoding,
                       newline="" if encoding else None) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())  # the data is on disk before the name points at it
        os.replace(tmp, path)  # replaces a symlink itself, never its target
    except OSError as exc:  # a full disk or a folder gone mid-write: one line, no traceback
        _discard(tmp)
        raise HarnessError(f"{path}: cannot write ({exc.strerror or exc})") from None
    except BaseException:
        _discard(tmp)
        raise
    _sync_folder(path.parent)


def _refuse_symlink(path: Path, force: bool) -> None:
    try:
        is_link = path.is_symlink()
    except OSError as exc:  # a name too long, say: is_symlink raises rather than say False
        raise HarnessError(f"{path}: cannot write ({exc.strerror})") from None
    if is_link and not force:
        raise HarnessError(f"{path}: is a symbolic link; not writing through it (--force "
                           "replaces the link itself)")


def _create_temporary(path: Path) -> tuple[int, Path]:
    """A new 0600 file beside `path` under an unguessable name, and its descriptor."""
    for _ in range(TEMP_NAME_ATTEMPTS):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.partial")
        try:
            fd = os.open(tmp, TEMP_FLAGS, FILE_MODE)
        except FileExistsError:
            continue  # never reuse a name someone else holds
        except OSError as exc:
            raise HarnessError(f"{path}: cannot write ({exc.strerror})") from None
        try:
            os.fchmod(fd, FILE_MODE)  # the umask may have taken bits from the mode asked for
        except OSError as exc:
            os.close(fd)
            _discard(tmp)
            raise HarnessError(f"{path}: cannot write ({exc.strerror})") from None
        return fd, tmp
    raise HarnessError(f"{path.parent}: cannot find a free temporary name")


def _discard(tmp: Path) -> None:
    with contextlib.suppress(OSError):
        tmp.unlink()


def _sync_folder(folder: Path) -> None:
    # Best effort: makes the rename itself durable; some file systems cannot fsync a folder.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _ensure_dir(folder: Path) -> None:
    """Make `folder` and any missing parents (0700); folders already there keep their mode."""
    try:
        for path in reversed(_missing_folders(folder)):
            _make_private_dir(path, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise HarnessError(f"{folder}: a file is in the way of this folder") from None
    except PermissionError:
        raise HarnessError(f"{folder}: no permission to create this folder") from None
    except OSError as exc:  # a name too long, a read-only file system
        raise HarnessError(f"{folder}: cannot create this folder ({exc.strerror})") from None
    if not os.access(folder, os.W_OK):
        raise HarnessError(f"{folder}: folder is not writable")


def _missing_folders(folder: Path) -> list[Path]:
    """`folder` and its parents up to the first that exists, deepest first."""
    missing = []
    for candidate in (folder, *folder.parents):
        if candidate.is_dir():
            break
        missing.append(candidate)
    return missing


def _make_private_dir(folder: Path, exist_ok: bool = False) -> None:
    try:
        folder.mkdir(mode=FOLDER_MODE)
    except FileExistsError:
        if exist_ok and folder.is_dir():
            return  # made meanwhile by another process (a parallel shard): not ours to chmod
        raise
    folder.chmod(FOLDER_MODE)  # mkdir's mode is filtered by the umask; this one is not
