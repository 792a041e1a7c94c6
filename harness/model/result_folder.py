"""A run's result folder, written and loaded by this module only: one model, one format.

Layout: `samples.csv`, `cycles.csv`, `timeline.csv` (raw readings, MB/KB/ms in the column names),
`worker-N-stderr.txt`, and `meta.json` (everything else), written last so that a folder with a
`meta.json` has complete CSVs. Loading checks `schema_version`: an older version is upgraded,
an unknown one refused; a field of the wrong type is a one-line error naming the file.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, fields, replace
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

from session_store_harness.errors import HarnessError
from session_store_harness.generating.generator import GenerateSpec
from session_store_harness.measuring.environment import (
    describe_memory_limit,
    parse_cgroup_memory_limit,
)
from session_store_harness.model.config import RunConfig
from session_store_harness.model.redaction import (
    redact_argv,
    redact_document,
    redact_env,
    redact_environment,
    redact_text,
    secrets_to_hide,
)
from session_store_harness.model.run import (
    KB,
    MB,
    PEAK_LIFETIME,
    PEAK_METHODS,
    STATUSES,
    CycleTiming,
    Run,
    Sample,
    StoreInfo,
    TimelinePoint,
    WorkerInfo,
    WorkerRun,
)
from session_store_harness.model.store_spec import StoreSpec
from session_store_harness.worker.protocol import DEFAULT_TOUCH_FIELDS
from session_store_harness.writers.folder import write_text

# 5: the workload (config.workload: full or entry) and, for entry, how each repeat's worker
# served get and update_entry (repeats[].worker.entry_api: native or fallback);
# 4: the store as a spec (config.store_spec: kind, target, source) and the fields each cycle
# touched (config.touch_fields); 3: the kernel's peak per sample interval (reset at each sample)
# and the traced heap peak, in new samples.csv columns, and how each repeat's peak was taken;
# 2: peak_rss = max(kernel VmHWM, every reading); 1 had the kernel's only
SCHEMA_VERSION = 5
META = "meta.json"
# `peak_rss_mb` is derived (the higher of the sampled and kernel peaks), for readers of the
# file; it is not read back, as `cycle_ms` in cycles.csv
SAMPLE_COLUMNS = ("repeat", "cycle", "rss_mb", "peak_rss_mb", "sampled_peak_rss_mb",
                  "kernel_peak_rss_mb", "heap_mb", "heap_peak_mb", "external_mb", "store_kb",
                  "elapsed_ms", "untrimmed_rss_mb")
# versions 1 and 2: `peak_rss_mb` was the highest reading (now `sampled_peak_rss_mb`)
SAMPLE_COLUMNS_2 = ("repeat", "cycle", "rss_mb", "peak_rss_mb", "heap_mb", "external_mb",
                    "store_kb", "elapsed_ms", "untrimmed_rss_mb")
CYCLE_COLUMNS = ("repeat", "cycle", "load_ms", "update_ms", "cycle_ms", "wrote", "reused_base")
TIMELINE_COLUMNS = ("repeat", "time_ms", "rss_mb", "cycle")
CSV_DECIMALS = 3  # 0.001 MB = 1 KiB: the resolution of /proc's figures


# ---- writing ---------------------------------------------------------------------------------

def write_run(run: Run, folder: Path,
              derived: Callable[[Run], dict[str, str]] | None = None) -> Run:
    """Write `run` into the new `folder` and return it as it now reads back from there.

    `derived(run)` gives further files made from the run (summary.json), computed from the
    returned run, so they agree figure for figure with the folder; `meta.json` comes last.
    """
    texts = _csv_texts(run)
    kept = _with_folder(_read_back(run, texts), folder)
    for name, text in texts.items():  # the very text `kept` was read from: rendered once
        write_text(folder / name, text)
    for index, repeat in enumerate(kept.repeats, start=1):
        if repeat.worker.stderr_tail:
            write_text(folder / f"worker-{index}-stderr.txt", stderr_text(kept, repeat))
    for name, text in (derived(kept) if derived else {}).items():
        write_text(folder / name, text)
    write_text(folder / META, meta_json(kept))
    return kept


def _csv_texts(run: Run) -> dict[str, str]:
    return {"samples.csv": samples_csv(run), "cycles.csv": cycles_csv(run),
            "timeline.csv": timeline_csv(run)}


def _read_back(run: Run, texts: dict[str, str]) -> Run:
    """The run at the CSVs' resolution (0.001 MB, 0.001 ms): what `load_run` gives back."""
    samples, cycles, timeline = (_group(list(csv.DictReader(io.StringIO(texts[name]))))
                                 for name in ("samples.csv", "cycles.csv", "timeline.csv"))
    return replace(run, repeats=tuple(replace(
        repeat, samples=tuple(map(_sample, samples.get(index, []))),
        cycles=tuple(map(_cycle, cycles.get(index, []))),
        timeline=tuple(map(_point, timeline.get(index, []))))
        for index, repeat in _numbered(run)))


def samples_csv(run: Run) -> str:
    return _csv(SAMPLE_COLUMNS, (
        (repeat, s.cycle, _mb(s.rss_bytes), _mb(s.peak_rss_bytes),
         _mb(s.sampled_peak_rss_bytes), _mb(s.kernel_peak_rss_bytes), _mb(s.heap_bytes),
         _mb(s.heap_peak_bytes), _mb(s.external_bytes), round(s.store_bytes / KB, CSV_DECIMALS),
         round(s.elapsed_ms, CSV_DECIMALS), _mb(s.untrimmed_rss_bytes))
        for repeat, worker in _numbered(run) for s in worker.samples))


def cycles_csv(run: Run) -> str:
    return _csv(CYCLE_COLUMNS, (
        (repeat, c.cycle, round(c.load_ms, CSV_DECIMALS), round(c.update_ms, CSV_DECIMALS),
         round(c.cycle_ms, CSV_DECIMALS), int(c.wrote), int(c.reused_base))
        for repeat, worker in _numbered(run) for c in worker.cycles))


def timeline_csv(run: Run) -> str:
    return _csv(TIMELINE_COLUMNS, ((repeat, round(p.time_ms, 1), _mb(p.rss_bytes), p.cycle)
                                   for repeat, worker in _numbered(run)
                                   for p in worker.timeline))


def stderr_text(run: Run, repeat: WorkerRun) -> str:
    """A repeat's stderr tail as written: a worker may print a secret it was given."""
    return redact_text(repeat.worker.stderr_tail, secrets_to_hide(run.config.env))


def meta_json(run: Run) -> str:
    # Secrets are blanked here, the one place a run is written; the run in memory (and the
    # worker it started) keeps the real values. Names first (a short secret behind a secret
    # name), then every string by value: a label, a path or a harmless-named --env may hold one.
    config = run.config.as_dict()
    meta = {
        "schema_version": SCHEMA_VERSION,
        "status": run.status,
        "complete": run.complete,
        "error": run.error,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "argv": redact_argv(run.argv, run.config.env),
        "config": {**config, "env": redact_env(config["env"]),
                   "store_spec": _redacted_spec(config["store_spec"], run.config.env)},
        "store": asdict(run.store),
        "heap_measure": run.heap_measure,
        "repeats": [_repeat_meta(index, repeat) for index, repeat in _numbered(run)],
        "environment": redact_environment(run.environment),
        # optional in schema 2 (absent in older folders): how each repeat's layout was drawn,
        # and, for `harness ab`, the run measured interleaved with this one
        "layout_seed": run.layout_seed,
        "interleaved_with": run.interleaved_with,
        "interleaved_order": list(run.interleaved_order),
        "planned_looks": run.planned_looks,
        "max_repeat": run.max_repeat,
    }
    written = redact_document(meta, secrets_to_hide(run.config.env))
    return json.dumps(written, indent=2, default=str) + "\n"


def _redacted_spec(spec: dict[str, Any], env: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """The store's spec as written: a worker command's words and node's options are command
    line arguments, redacted as the harness's own are (`API_TOKEN=...`)."""
    return {**spec, **{name: redact_argv(spec[name], env) for name in ("command", "node_args")}}


def _repeat_meta(index: int, repeat: WorkerRun) -> dict[str, Any]:
    # Both raw peaks are kept beside the one reports use, so a reader can see which won, and
    # how the peak was taken (per interval, or over the worker's life), and if not reset, why.
    return {"repeat": index, "status": repeat.status, "error": repeat.error,
            "worker": asdict(repeat.worker),
            "peak_method": repeat.peak_method, "peak_reset_error": repeat.peak_reset_error,
            "kernel_peak_rss_bytes": repeat.kernel_peak_rss_bytes,
            "sampled_peak_rss_bytes": repeat.sampled_peak_rss_bytes,
            "peak_rss_bytes": repeat.peak_rss_bytes,
            "peak_rss_mb": _mb(repeat.peak_rss_bytes),
            "samples": len(repeat.samples), "cycles_completed": len(repeat.cycles),
            "layout": repeat.layout, "started_at": repeat.started_at}


def _numbered(run: Run) -> Iterator[tuple[int, WorkerRun]]:
    return enumerate(run.repeats, start=1)


def _mb(value: int | None) -> float | None:
    return None if value is None else round(value / MB, CSV_DECIMALS)


def _csv(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


# ---- loading ---------------------------------------------------------------------------------

def load_run(folder: Path) -> Run:
    """Load a result folder into the run model; any missing or malformed piece is one line."""
    if not folder.is_dir():
        raise HarnessError(f"{folder}: not a folder")
    meta_path = folder / META
    if not meta_path.is_file():
        raise HarnessError(f"{folder}: not a run folder (no {META})")
    meta = _read_json(meta_path)
    sample_columns = SAMPLE_COLUMNS_2 if meta.get("schema_version") in (1, 2) else SAMPLE_COLUMNS
    meta = _upgrade(meta, meta_path)
    records = {name: _read_records(folder / f"{name}.csv", columns, convert)
               for name, columns, convert in (("samples", sample_columns, _sample),
                                              ("cycles", CYCLE_COLUMNS, _cycle),
                                              ("timeline", TIMELINE_COLUMNS, _point))}
    try:
        run = _run_from(meta, records)
    except HarnessError as exc:
        raise HarnessError(f"{meta_path}: {exc}") from None
    if not any(r.samples for r in run.repeats):
        raise HarnessError(f"{folder}: run has no samples")
    return _with_folder(run, folder)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise HarnessError(f"{path}: unreadable ({exc})") from None
    if not isinstance(data, dict):
        raise HarnessError(f"{path}: not a JSON object")
    return data


def _upgrade(meta: dict[str, Any], path: Path) -> dict[str, Any]:
    if "schema_version" not in meta:
        raise HarnessError(f"{path}: no schema_version: not a result folder's meta.json")
    version = meta["schema_version"]
    if version == SCHEMA_VERSION:
        return meta
    if version in (1, 2, 3, 4):
        if version == 1:
            meta = _upgrade_1_to_2(meta)
        if version in (1, 2):
            meta = _upgrade_2_to_3(meta)
        # 3 to 4 adds optional config fields: absent, they mean the built-in store that
        # `config.store` names and the default touched fields; 4 to 5 the workload, absent
        # meaning `full` (the only one before), and the entry workload's methods
        return {**meta, "schema_version": SCHEMA_VERSION}
    raise HarnessError(f"{path}: schema_version {version!r} is not one this harness reads "
                       f"(1 to {SCHEMA_VERSION}); was it written by a newer harness?")


def _read_records(path: Path, columns: Sequence[str],
                  convert: Callable[[dict[str, str]], Any]) -> dict[int, tuple[Any, ...]]:
    """One CSV's rows as records, by repeat; a bad figure is an error naming this file."""
    rows = _read_rows(path, columns)
    try:
        return {repeat: tuple(map(convert, group)) for repeat, group in _group(rows).items()}
    except HarnessError as exc:
        raise HarnessError(f"{path}: {exc}") from None


def _upgrade_1_to_2(meta: dict[str, Any]) -> dict[str, Any]:
    """Version 2 adds derived peaks (recomputed on load anyway) and keeps the cgroup limit as
    bytes beside a display string; version 1 kept the cgroup file's first line."""
    env = meta.get("environment")
    if isinstance(env, dict) and "cgroup_memory_limit_bytes" not in env:
        raw = env.get("cgroup_memory_limit")
        try:
            limit = None if raw is None else parse_cgroup_memory_limit(str(raw))
        except ValueError:
            limit = None
        env = {**env, "cgroup_memory_limit_bytes": limit, "cgroup_memory_limit":
               "unknown" if raw is None else describe_memory_limit(limit)}
    return {**meta, "schema_version": 2, "environment": env}


def _upgrade_2_to_3(meta: dict[str, Any]) -> dict[str, Any]:
    """Version 3 resets the kernel's peak at each sample where it can and says how each peak
    was taken; every earlier peak was the lifetime one (the samples' CSV is read as it was)."""
    repeats = [{**info, "peak_method": PEAK_LIFETIME} if isinstance(info, dict) else info
               for info in meta.get("repeats") or []]
    return {**meta, "schema_version": 3, "repeats": repeats}


def _run_from(meta: dict[str, Any], by_repeat: dict[str, dict[int, tuple[Any, ...]]]) -> Run:
    config = _config_from(_typed(meta, "config", dict))
    repeats = []
    for index, info in enumerate(_typed(meta, "repeats", list), start=1):
        info = _as(info, dict, f"repeats[{index}]")
        repeats.append(WorkerRun(
            worker=_record(WorkerInfo, _typed(info, "worker", dict), "worker"),
            status=_status(info.get("status")),
            samples=by_repeat["samples"].get(index, ()),
            cycles=by_repeat["cycles"].get(index, ()),
            timeline=by_repeat["timeline"].get(index, ()),
            kernel_peak_rss_bytes=_optional(info, "kernel_peak_rss_bytes", int),
            error=_optional(info, "error", str), layout=_layout(info),
            started_at=_optional(info, "started_at", str), peak_method=_peak_method(info),
            peak_reset_error=_optional(info, "peak_reset_error", str)))
    run = Run(config=config, environment=_typed(meta, "environment", dict),
              store=_record(StoreInfo, _typed(meta, "store", dict), "store"),
              started_at=_typed(meta, "started_at", str),
              finished_at=_typed(meta, "finished_at", str), repeats=tuple(repeats),
              argv=tuple(_typed(meta, "argv", list)),
              layout_seed=_optional(meta, "layout_seed", int),
              interleaved_with=_optional(meta, "interleaved_with", str),
              interleaved_order=tuple(map(str, _optional(meta, "interleaved_order", list) or ())),
              planned_looks=_optional(meta, "planned_looks", int) or 1,
              max_repeat=_optional(meta, "max_repeat", int))
    _check_recorded_status(meta, run)
    return run


def _peak_method(info: dict[str, Any]) -> str:
    method = _optional(info, "peak_method", str) or PEAK_LIFETIME
    if method not in PEAK_METHODS:
        raise HarnessError(f"field 'peak_method' must be one of {', '.join(PEAK_METHODS)}, "
                           f"got {method!r}")
    return method


def _layout(info: dict[str, Any]) -> dict[str, int] | None:
    layout = _optional(info, "layout", dict)
    if layout is None:
        return None
    for key, value in layout.items():
        _as(value, int, f"layout.{key}")
    return {str(key): value for key, value in layout.items()}


def _check_recorded_status(meta: dict[str, Any], run: Run) -> None:
    """A hand-edited status or `complete` flag that the repeats contradict is refused."""
    if meta.get("status") != run.status or meta.get("complete") is not run.complete:
        raise HarnessError(f"status {meta.get('status')!r} / complete "
                           f"{meta.get('complete')!r} contradict the repeats ({run.status})")


def _config_from(data: dict[str, Any]) -> RunConfig:
    data = dict(data)
    known = {f.name for f in fields(RunConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise HarnessError(f"config has unknown field(s) {', '.join(unknown)}")
    env = _as(data.get("env") or {}, dict, "config.env")
    data["env"] = tuple((str(k), str(v)) for k, v in env.items())
    generate = data.get("generate")
    data["generate"] = None if generate is None else _record(
        GenerateSpec, _typed_fields(GenerateSpec, _as(generate, dict, "config.generate"),
                                    "config.generate"), "config.generate")
    store_file = data.get("store_file")
    data["store_file"] = None if store_file is None else Path(_as(store_file, str,
                                                                  "config.store_file"))
    data["touch_fields"] = _strings(data.get("touch_fields", list(DEFAULT_TOUCH_FIELDS)),
                                    "config.touch_fields")
    spec = data.get("store_spec")
    data["store_spec"] = None if spec is None else _store_spec(_as(spec, dict,
                                                                   "config.store_spec"))
    built = {"env", "generate", "store_file", "touch_fields", "store_spec"}  # typed above
    data = {**_typed_fields(RunConfig, {k: v for k, v in data.items() if k not in built},
                            "config"), **{k: v for k, v in data.items() if k in built}}
    try:
        return RunConfig(**data)
    except TypeError as exc:  # a required field is missing
        raise HarnessError(f"config: {exc}") from None


def _store_spec(data: dict[str, Any]) -> StoreSpec:
    where = "config.store_spec"
    lists = {"python_path", "node_args", "command"}
    fields_ = _typed_fields(StoreSpec, {k: v for k, v in data.items()
                                        if k not in lists | {"source"}}, where)
    source = _optional(data, "source", str)
    return _record(StoreSpec, {**fields_, "source": None if source is None else Path(source),
                               **{name: _strings(data.get(name) or [], f"{where}.{name}")
                                  for name in lists}}, where)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    for item in _as(value, list, where):
        _as(item, str, where)
    return tuple(value)


def _typed_fields(kind: type, data: dict[str, Any], where: str) -> dict[str, Any]:
    """The fields of `kind` in `data`, each checked against its annotation."""
    hints = get_type_hints(kind)
    return {name: _annotated(value, hints[name], f"{where}.{name}") if name in hints else value
            for name, value in data.items()}


def _annotated(value: Any, hint: Any, where: str) -> Any:
    """`value` checked against a field's annotation (int, float, bool, str, or X | None).

    RunConfig does not check its own types, and a wrong one fails far from here, if at all:
    `cycles: true` would be taken as 1 and `"5"` fails as a raw TypeError in a comparison.
    """
    kinds = get_args(hint) if get_origin(hint) in (Union, UnionType) else (hint,)
    if value is None and type(None) in kinds:
        return None
    kind = next((k for k in kinds if k is not type(None)), hint)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)  # JSON writes 10.0 as written; a hand-edited 10 means the same
    _as(value, kind, where)
    if kind is float and not math.isfinite(value):  # json.loads reads NaN and Infinity
        raise HarnessError(f"field {where!r} must be a finite number, got {value!r}")
    return value


def _record(kind: type, data: dict[str, Any], where: str) -> Any:
    known = {f.name for f in fields(kind)}
    try:
        return kind(**{k: v for k, v in data.items() if k in known})
    except TypeError as exc:
        raise HarnessError(f"{where}: {exc}") from None


def _typed(data: dict[str, Any], key: str, kind: type) -> Any:
    if key not in data:
        raise HarnessError(f"missing field {key!r}")
    return _as(data[key], kind, key)


def _optional(data: dict[str, Any], key: str, kind: type) -> Any:
    value = data.get(key)
    return None if value is None else _as(value, kind, key)


def _as(value: Any, kind: type, where: str) -> Any:
    # bool is an int in Python; a JSON true where a number belongs is still a wrong type
    if not isinstance(value, kind) or (kind in (int, float) and isinstance(value, bool)):
        raise HarnessError(f"field {where!r} must be {kind.__name__}, got {value!r}")
    return value


def _status(value: Any) -> Any:
    if value not in STATUSES:
        raise HarnessError(f"repeat status must be one of {', '.join(STATUSES)}, got {value!r}")
    return value


def _read_rows(path: Path, columns: Sequence[str]) -> list[dict[str, str]]:
    if not path.is_file():
        raise HarnessError(f"{path}: missing")
    try:
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            if tuple(reader.fieldnames or ()) != tuple(columns):
                raise HarnessError(f"{path}: columns {reader.fieldnames} are not "
                                   f"{list(columns)}")
            return list(reader)
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise HarnessError(f"{path}: unreadable CSV ({exc})") from None


def _group(rows: list[dict[str, str]]) -> dict[int, list[dict[str, str]]]:
    groups: dict[int, list[dict[str, str]]] = {}
    for row in rows:
        groups.setdefault(_int(row, "repeat"), []).append(row)
    return groups


def _sample(row: dict[str, str]) -> Sample:
    sampled = "sampled_peak_rss_mb" if "sampled_peak_rss_mb" in row else "peak_rss_mb"  # 1, 2
    return Sample(cycle=_int(row, "cycle"), elapsed_ms=_float(row, "elapsed_ms"),
                  rss_bytes=_bytes(row, "rss_mb", MB),
                  sampled_peak_rss_bytes=_bytes(row, sampled, MB),
                  kernel_peak_rss_bytes=_optional_bytes(row, "kernel_peak_rss_mb", MB),
                  heap_bytes=_bytes(row, "heap_mb", MB),
                  heap_peak_bytes=_optional_bytes(row, "heap_peak_mb", MB),
                  external_bytes=_bytes(row, "external_mb", MB),
                  store_bytes=_bytes(row, "store_kb", KB),
                  untrimmed_rss_bytes=_optional_bytes(row, "untrimmed_rss_mb", MB))


def _cycle(row: dict[str, str]) -> CycleTiming:
    return CycleTiming(cycle=_int(row, "cycle"), load_ms=_float(row, "load_ms"),
                       update_ms=_float(row, "update_ms"), wrote=bool(_int(row, "wrote")),
                       reused_base=bool(_int(row, "reused_base")))


def _point(row: dict[str, str]) -> TimelinePoint:
    return TimelinePoint(time_ms=_float(row, "time_ms"), rss_bytes=_bytes(row, "rss_mb", MB),
                         cycle=_int(row, "cycle"))


def _parsed(row: dict[str, str], column: str, parse: Callable[[str], Any]) -> Any:
    """A figure of the CSVs: times, sizes, counts and cycles are finite and never negative,
    so anything else is a damaged or hand-edited file, refused rather than reported."""
    text = row[column]
    try:
        value = parse(text)
    except (TypeError, ValueError, OverflowError):  # round() of nan is a ValueError, of inf
        value = None                                # an OverflowError
    if value is None or not math.isfinite(value) or value < 0:
        raise HarnessError(f"column {column!r} holds {text!r}, not a finite number of 0 or "
                           "more")
    return value


def _int(row: dict[str, str], column: str) -> int:
    return _parsed(row, column, int)


def _float(row: dict[str, str], column: str) -> float:
    return _parsed(row, column, float)


def _bytes(row: dict[str, str], column: str, unit: int) -> int:
    # CSV figures are rounded to 0.001 MB; bytes are restored to that resolution. The rounding
    # is parsed too, so nan, inf and 1e400 are refused rather than raised from round().
    return _parsed(row, column, lambda text: round(float(text) * unit))


def _optional_bytes(row: dict[str, str], column: str, unit: int) -> int | None:
    """An empty cell (or a column an older version did not write) is a figure not measured."""
    return _bytes(row, column, unit) if row.get(column) else None


def _with_folder(run: Run, folder: Path) -> Run:
    return replace(run, folder=folder)
