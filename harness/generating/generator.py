"""Write a synthetic `sessions.json` of a target size or entry count, streaming to disk.

Entries are built and written one group at a time, so memory stays flat whatever the size. The
size lands on the target to the byte: whole groups are written while they fit, then single
entries, and the last entry is sized to fill exactly what is left.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from session_store_harness.errors import HarnessError
from session_store_harness.generating.profiles import KB, PROFILES, entry_cost, entry_line
from session_store_harness.writers.folder import atomic_file

# "{\n" + members joined by ",\n" + "\n}": each member costs its line plus 2 bytes.
FRAME_BYTES = 2
MAX_TARGET_KB = 64 * 1024 * 1024  # 64 GiB: past this a typo is likelier than a plan


@dataclass(frozen=True)
class GenerateSpec:
    """What to generate: a profile, a seed, and either a size in KiB or an entry count."""

    profile: str
    seed: int
    target_kb: int | None = None
    entries: int | None = None

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise HarnessError(f"unknown profile {self.profile!r}; known: "
                               f"{', '.join(sorted(PROFILES))}")
        if (self.target_kb is None) == (self.entries is None):
            raise HarnessError("give exactly one of --target-kb and --entries")
        if self.target_kb is not None and not 0 < self.target_kb <= MAX_TARGET_KB:
            raise HarnessError(f"--target-kb must be between 1 and {MAX_TARGET_KB}, "
                               f"got {self.target_kb}")
        if self.entries is not None and not 0 < self.entries <= 10_000_000:
            raise HarnessError(f"--entries must be between 1 and 10000000, got {self.entries}")


@dataclass(frozen=True)
class Generated:
    """A generated store on disk."""

    path: Path
    size_bytes: int
    entries: int


def generate(spec: GenerateSpec, out: Path, force: bool = False) -> Generated:
    """Write the store to `out` (mode 0600); an existing file or symlink is kept unless
    `force`, and a symlink is then replaced itself, its target never written."""
    _check_output(out, force)
    # atomic_file: an unguessable temporary name opened O_EXCL|O_NOFOLLOW, removed on failure
    with atomic_file(out, force=force, encoding="utf-8") as handle:
        entries = _write_members(handle, _members(spec))
    return Generated(out, out.stat().st_size, entries)


def _check_output(out: Path, force: bool) -> None:
    if "\0" in str(out):  # os.open would raise ValueError, not OSError
        raise HarnessError(f"{out!r}: a file name cannot hold a NUL byte")
    try:
        # before exists(): a dangling link does not "exist", yet writing would follow it
        if out.is_symlink() and not force:
            raise HarnessError(f"{out}: is a symbolic link; pass --force to replace the link "
                               "(its target is never written)")
        if out.exists() and not force:
            raise HarnessError(f"{out}: already exists; pass --force to replace it")
        if out.is_dir():
            raise HarnessError(f"{out}: is a directory")
        if not out.parent.is_dir():
            raise HarnessError(f"{out.parent}: folder does not exist")
    except OSError as exc:  # stat fails on a name too long or a folder we may not search
        raise HarnessError(f"{out}: cannot check the output path ({exc.strerror})") from None


def _write_members(handle: IO[str], members: Iterator[str]) -> int:
    count = 0
    handle.write("{")
    for line in members:
        handle.write(",\n" if count else "\n")
        handle.write(line)
        count += 1
    handle.write("\n}" if count else "}")
    return count


def _members(spec: GenerateSpec) -> Iterator[str]:
    profile = PROFILES[spec.profile](random.Random(spec.seed))
    if spec.entries is not None:
        yield from _by_count(profile, spec.entries)
    else:
        yield from _by_size(profile, spec.target_kb * KB)


def _by_count(profile, wanted: int) -> Iterator[str]:
    written = 0
    for group in profile.groups():
        if written + len(group) > wanted:
            break
        for key, entry in group:
            yield entry_line(key, entry)
        written += len(group)
    for _ in range(wanted - written):
        yield entry_line(*profile.single())


def _by_size(profile, target_bytes: int) -> Iterator[str]:
    reserve = profile.min_filler_bytes
    if target_bytes < FRAME_BYTES + reserve:
        raise HarnessError(f"--target-kb is too small for profile {profile.name!r}: the "
                           f"smallest store it makes is {-(-(FRAME_BYTES + reserve) // KB)} KB")
    written = FRAME_BYTES
    # The reserve is read after each build: the pr filler's floor grows with the entry index.
    for group in profile.groups():
        lines = [entry_line(key, entry) for key, entry in group]
        cost = sum(len(line.encode("utf-8")) + 2 for line in lines)
        if written + cost + profile.min_filler_bytes > target_bytes:
            break
        yield from lines
        written += cost
    while True:
        key, entry = profile.single()
        cost = entry_cost(key, entry)
        if written + cost + profile.min_filler_bytes > target_bytes:
            break
        yield entry_line(key, entry)
        written += cost
    yield _filler_line(profile, target_bytes - written)


def _filler_line(profile, cost_bytes: int) -> str:
    # The separator of the last member is the closing "\n}" rather than ",\n", costing the same.
    line = entry_line(*profile.filler(cost_bytes))
    if len(line.encode("utf-8")) + 2 != cost_bytes:  # never hand back a file off its target
        raise HarnessError(f"internal error: the {profile.name!r} filler missed {cost_bytes} "
                           "bytes; please report the seed and size")
    return line
