"""A history across commits: one record per measured commit, kept as plain files in a folder.

`history.jsonl` is the history: one JSON object a line, in the order the commits were added
(the x axis of `harness history show`). `history.csv` is its twin for spreadsheets, rewritten
from the records by its own writer on every add. Both are read and written by this module only.

A record holds a run's summary, never its raw data: the gate's figures (each the median over
the run's repeats, with the count), where the run came from, and two fingerprints that say
whether two records can be set side by side: the workload (what the harness was asked to do)
and the environment (where it did it). Derived figures are taken from the one run model
(`load_run`, `judging/metrics.py`), not from the run's files.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import math
import os
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from session_store_harness.errors import HarnessError
from session_store_harness.model.run import Run

SCHEMA_VERSION = 1
# a figure no run makes (1e9 MB, or 11 days a cycle): larger is a hand edit, and would overflow
# the detector's squares
MAX_FIGURE = 1e9
HISTORY = "history.jsonl"
HISTORY_CSV = "history.csv"
DEFAULT_DIR = Path("results/history")
RUN_META = "meta.json"  # result_folder.META; a run folder holds it
AB_PLAN = "ab.json"  # measuring.ab.AB_FILE; not imported: the measuring side loads the runner
# The gate's figures, and the heap where the run has one: each a median over repeats
HISTORY_METRICS = ("rss_steady_mb", "peak_rss_mb", "cycle_ms_median", "heap_last_mb",
                   "heap_peak_mb")
COMMIT_PATTERN = re.compile(r"[0-9a-f]{7,64}")  # SHA-1 (40) or SHA-256 (64) repositories
SHORT_SHA = 7


@dataclass(frozen=True)
class MetricPoint:
    """One metric of one commit: the median over the run's repeats, and how many there were."""

    median: float
    repeats: int


@dataclass(frozen=True)
class HistoryRecord:
    """One commit's run, summarised: a line of `history.jsonl`."""

    commit: str
    commit_time: str | None  # ISO 8601, from --commit-time or git; None when unknown
    branch: str | None
    added_at: str  # UTC, ISO 8601
    source: str  # "run", or "ab after" for the after side of a `harness ab` folder
    run_name: str
    run_started_at: str
    harness_version: str | None
    store: dict[str, Any]  # the store's spec as the run recorded it
    workload: dict[str, Any]
    workload_fingerprint: str
    environment: dict[str, Any]
    environment_fingerprint: str
    metrics: dict[str, MetricPoint]
    schema_version: int = SCHEMA_VERSION

    @property
    def short(self) -> str:
        return self.commit[:SHORT_SHA]

    def value(self, metric: str) -> float | None:
        point = self.metrics.get(metric)
        return None if point is None else point.median

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {"schema_version": data.pop("schema_version"), **data}


# ---- a record from a run -----------------------------------------------------------------------

def resolve_run_folder(path: Path) -> tuple[Path, str]:
    """The run folder `path` names, and what it is: a run folder, or a `harness ab` folder,
    whose after side (the change measured) is the one a history records."""
    if not path.is_dir():
        raise HarnessError(f"{path}: not a folder")
    if (path / RUN_META).is_file():
        return path, "run"
    if (path / AB_PLAN).is_file():
        return path / "after", "ab after"
    raise HarnessError(f"{path}: not a run folder (no {RUN_META}) nor a harness ab folder "
                       f"(no {AB_PLAN})")


def record_from_run(run: Run, commit: str, source: str, commit_time: str | None = None,
                    branch: str | None = None, added_at: str | None = None) -> HistoryRecord:
    """The history record of `run`, measured at `commit`. An incomplete run is refused: its
    figures are not the commit's."""
    from session_store_harness.judging.metrics import summarize  # statistics: loaded lazily

    if not run.complete:
        raise HarnessError(f"{run.folder}: the run is {run.status}, not complete; a history "
                           "keeps complete runs only")
    summary = summarize(run)
    metrics = {}
    for name in HISTORY_METRICS:
        figure = summary.get(name)
        present = [v for v in figure.values if v is not None]
        if figure.median is not None:
            metrics[name] = MetricPoint(figure.median, len(present))
    workload, environment = workload_of(run), environment_of(run)
    return HistoryRecord(
        commit=check_commit(commit), commit_time=check_time(commit_time), branch=branch,
        added_at=added_at or datetime.now(UTC).isoformat(timespec="seconds"), source=source,
        run_name=run.name, run_started_at=run.started_at,
        harness_version=run.environment.get("harness_version"), store=run.config.spec.as_dict(),
        workload=workload, workload_fingerprint=fingerprint(workload),
        environment=environment, environment_fingerprint=fingerprint(environment),
        metrics=metrics)


def check_commit(commit: str) -> str:
    sha = commit.strip().lower()
    if not COMMIT_PATTERN.fullmatch(sha):
        raise HarnessError(f"--commit takes a commit SHA (7 to 64 hex digits), got {commit!r}")
    return sha


def check_time(text: str | None) -> str | None:
    """An ISO 8601 time as given (git's `%cI` is one), or a one-line error."""
    if text is None:
        return None
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise HarnessError(f"--commit-time takes an ISO 8601 time such as "
                           f"2026-01-31T12:00:00+00:00, got {text!r}") from None
    return text


def workload_of(run: Run) -> dict[str, Any]:
    """What the harness was asked to do to the store: the data and the cycles. Two commits
    measured under different workloads differ for reasons that are not the code's."""
    config, generated = run.config, run.config.generate
    return {
        "store_data": {"sha256": run.store.sha256, "size_bytes": run.store.size_bytes,
                       "profile": None if generated is None else generated.profile},
        "cycles": config.cycles, "sample_every": config.sample_every,
        "warmup_cycles": config.warmup_cycles,
        "touch_keys": config.touch_keys, "touch_fields": list(config.touch_fields),
        "reuse_loaded_store": config.reuse_loaded_store, "trim": config.trim,
        "heap_measure": run.heap_measure, "interval_ms": config.interval_ms,
        "runtime": config.runtime, "worker": config.spec.kind,
    }


def environment_of(run: Run) -> dict[str, Any]:
    """Where it ran: machine, CPUs, memory, interpreter, the worker's runtime, the allocator
    and store variables, and how the peak was taken. The kernel release is left out: hosted
    runners change it under a project every few weeks, and it is recorded in the run."""
    env = run.environment
    memory = env.get("memory_total_bytes")
    platform = env.get("platform") or {}
    python = env.get("python") or {}
    return {
        "system": platform.get("system"), "machine": platform.get("machine"),
        "cpu_count": env.get("cpu_count"), "cpu_affinity": env.get("cpu_affinity"),
        # whole GiB: two VMs of one runner size differ by a few MB of firmware reservations
        "memory_gib": None if memory is None else round(memory / 2**30),
        "cgroup_memory_limit": env.get("cgroup_memory_limit"),
        "python": f"{python.get('implementation', '?')} {python.get('version', '?')}",
        "runtime": run.runtime, "variables": env.get("env") or {},
        "peak_method": run.peak_method,
    }


def fingerprint(data: dict[str, Any]) -> str:
    """A short stable digest of `data` (keys sorted), to tell at a glance whether two records
    share a workload or an environment."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


# ---- the history files -------------------------------------------------------------------------

def load_history(folder: Path) -> list[HistoryRecord]:
    """The records of `folder/history.jsonl`, oldest first; a damaged file is one line naming
    the line, and is left as it is."""
    path = folder / HISTORY
    if not folder.is_dir():
        raise HarnessError(f"{folder}: no history folder here (harness history add makes one)")
    if not path.is_file():
        raise HarnessError(f"{path}: no history file (harness history add makes one)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HarnessError(f"{path}: unreadable ({exc}); left as it is") from None
    records = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line and number == text.count("\n") + 1:
            break  # the file ends in a newline: its last "line" is empty
        try:
            records.append(record_from_json(json.loads(line)))
        except (ValueError, HarnessError, RecursionError) as exc:
            why = "nested too deeply" if isinstance(exc, RecursionError) else exc
            raise HarnessError(f"{path}: line {number} is not a history record ({why}); the "
                               "history is left as it is") from None
    if text and not text.endswith("\n"):
        raise HarnessError(f"{path}: the last line is cut short (no newline); the history is "
                           "left as it is")
    return records


def add_record(folder: Path, record: HistoryRecord, replace: bool = False) -> int:
    """Add `record` to the history in `folder` (made 0700 if missing); the files are replaced
    whole and atomically (written under a temporary name, renamed), under a lock on the folder
    so two adds at once cannot lose one. A commit already there is refused unless `replace`,
    which puts the new record in the old one's place. Returns how many records it holds."""
    from session_store_harness.writers.folder import write_text
    from session_store_harness.writers.history_csv import history_csv

    _ensure_folder(folder)
    with _locked(folder):
        records = load_history(folder) if (folder / HISTORY).exists() else []
        _check_twin(folder, records)
        records = _with(records, record, replace, folder)
        # the CSV first: a crash between the two renames leaves a twin that does not match,
        # which the next add names, rather than a history with a stale twin nobody notices
        write_text(folder / HISTORY_CSV, history_csv(records))
        write_text(folder / HISTORY, "".join(history_line(r) for r in records))
    return len(records)


def history_line(record: HistoryRecord) -> str:
    return json.dumps(record.as_dict(), sort_keys=False, separators=(",", ":")) + "\n"


def _with(records: list[HistoryRecord], record: HistoryRecord, replace: bool,
          folder: Path) -> list[HistoryRecord]:
    at = next((i for i, r in enumerate(records) if r.commit == record.commit), None)
    if at is None:
        return [*records, record]
    if not replace:
        raise HarnessError(f"{folder / HISTORY}: commit {record.short} is already in the "
                           "history; --replace puts the new run in its place")
    return [*records[:at], record, *records[at + 1:]]


def _check_twin(folder: Path, records: list[HistoryRecord]) -> None:
    """The CSV must be what its writer makes of the records: anything else was edited by hand
    or cut short, and rewriting it would lose that silently."""
    from session_store_harness.writers.history_csv import history_csv

    path = folder / HISTORY_CSV
    if not path.exists():
        return  # none yet, or removed by hand to be rewritten: the JSON lines are the history
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HarnessError(f"{path}: unreadable ({exc}); left as it is") from None
    if text != history_csv(records):
        raise HarnessError(f"{path}: does not match {HISTORY} (edited, or cut short by a crash); "
                           f"left as it is: remove it and the next add rewrites it")


def _ensure_folder(folder: Path) -> None:
    """The history's folder, made 0700 (with its parents) when missing."""
    from session_store_harness.writers.folder import create_folder

    if folder.is_dir():
        return
    if folder.exists() and not folder.is_dir():  # asked again: a concurrent add may make it
        raise HarnessError(f"{folder}: not a folder; a history is a folder of its own")
    try:
        create_folder(folder)
    except HarnessError:
        if not folder.is_dir():  # made meanwhile by a concurrent add is fine; else say why
            raise


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on the folder itself (no lock file to leave behind or to plant)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


# ---- reading a record back ---------------------------------------------------------------------

def record_from_json(data: Any) -> HistoryRecord:
    """A record from its JSON object, every field's type checked."""
    if not isinstance(data, dict):
        raise HarnessError(f"not a JSON object: {type(data).__name__}")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise HarnessError(f"schema_version {data.get('schema_version')!r} is not one this "
                           f"harness reads ({SCHEMA_VERSION})")
    values = {}
    for item in fields(HistoryRecord):
        if item.name not in data:
            raise HarnessError(f"missing field {item.name!r}")
        values[item.name] = data[item.name]
    for name in ("commit", "added_at", "source", "run_name", "run_started_at",
                 "workload_fingerprint", "environment_fingerprint"):
        _check(values[name], str, name)
    for name in ("commit_time", "branch", "harness_version"):
        _check(values[name], (str, type(None)), name)
    for name in ("store", "workload", "environment", "metrics"):
        _check(values[name], dict, name)
    check_commit(values["commit"])
    values["metrics"] = {name: _point(name, point) for name, point in values["metrics"].items()}
    return HistoryRecord(**values)


def _point(name: str, point: Any) -> MetricPoint:
    _check(point, dict, f"metrics.{name}")
    median, repeats = point.get("median"), point.get("repeats")
    if isinstance(median, bool) or not isinstance(median, int | float) or not math.isfinite(
            median) or abs(median) > MAX_FIGURE:
        raise HarnessError(f"metrics.{name}.median must be a finite number (at most "
                           f"{MAX_FIGURE:g} in size), got {median!r}")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise HarnessError(f"metrics.{name}.repeats must be a count of 1 or more, got "
                           f"{repeats!r}")
    return MetricPoint(float(median), repeats)


def _check(value: Any, kind: type | tuple[type, ...], name: str) -> None:
    if not isinstance(value, kind):
        raise HarnessError(f"field {name!r} has the wrong type ({type(value).__name__})")
