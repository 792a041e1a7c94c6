"""The one run model: written and loaded by one module, checked on load, figures that agree."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from session_store_harness.errors import HarnessError
from session_store_harness.judging.metrics import summarize, values_of
from session_store_harness.measuring.measure import summary_file
from session_store_harness.model.result_folder import SCHEMA_VERSION, load_run, write_run
from session_store_harness.model.run import (
    MB,
    PEAK_LIFETIME,
    PEAK_PER_INTERVAL,
    Sample,
    TimelinePoint,
    WorkerRun,
)
from session_store_harness.writers.summary_json import summary_json
from tests.fakes import fake_run, with_old_samples_csv


def written(tmp_path: Path, **kwargs) -> Path:
    folder = tmp_path / "run"
    folder.mkdir()
    write_run(fake_run("run", [20.0, 24.5, 27.25], 12.5, 30.0, repeats=4, jitter=0.25,
                       **kwargs), folder)
    return folder


def edit_meta(folder: Path, **changes) -> None:
    meta = json.loads((folder / "meta.json").read_text())
    meta.update(changes)
    (folder / "meta.json").write_text(json.dumps(meta))


def test_a_run_loads_back_as_the_same_model_with_the_same_summary(tmp_path: Path) -> None:
    # GIVEN a run whose figures do not survive the CSVs' 0.001 MB / 0.001 ms rounding
    run = fake_run("run", [20.00037, 24.50049, 27.25061], 12.50077, 30.00043, repeats=4,
                   jitter=0.25031)
    folder = tmp_path / "run"
    folder.mkdir()
    # WHEN it is written with its summary, and loaded back
    kept = write_run(run, folder, summary_file)
    loaded = load_run(folder)
    # THEN it is the same model, figure for figure, as the run the writer returned
    assert kept == loaded and kept.folder == folder
    assert loaded.config == run.config and loaded.store == run.store
    # AND summary.json agrees with a summary recomputed from the folder
    written = json.loads((folder / "summary.json").read_text())
    assert written == json.loads(summary_json(summarize(loaded)))
    # AND meta.json was written last
    names = sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime_ns)
    assert names[-1].name == "meta.json"


def test_an_unknown_schema_version_is_refused_by_name(tmp_path: Path) -> None:
    folder = written(tmp_path)
    edit_meta(folder, schema_version=999)
    with pytest.raises(HarnessError, match="schema_version 999 is not one this harness reads"):
        load_run(folder)


def test_an_older_schema_version_is_upgraded(tmp_path: Path) -> None:
    # GIVEN a version 1 meta.json: no derived peaks, the cgroup file's raw first line
    folder = written(tmp_path)
    with_old_samples_csv(folder)
    meta = json.loads((folder / "meta.json").read_text())
    for repeat in meta["repeats"]:
        for key in ("sampled_peak_rss_bytes", "peak_rss_bytes", "peak_rss_mb", "peak_method",
                    "peak_reset_error"):
            del repeat[key]
    meta.update(schema_version=1, environment={"cgroup_memory_limit": "max"})
    (folder / "meta.json").write_text(json.dumps(meta))
    # THEN it loads, upgraded to the current version
    run = load_run(folder)
    assert run.complete and SCHEMA_VERSION > 1
    assert run.environment["cgroup_memory_limit"] == "none"
    assert run.repeats[0].peak_rss_bytes is not None


def test_a_missing_schema_version_is_named(tmp_path: Path) -> None:
    folder = written(tmp_path)
    meta = json.loads((folder / "meta.json").read_text())
    del meta["schema_version"]
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(HarnessError, match="no schema_version"):
        load_run(folder)


@pytest.mark.parametrize(("changes", "fragment"), [
    ({"complete": "false", "status": "failed"}, "contradict the repeats"),
    ({"status": "complete", "complete": True, "repeats": []}, "contradict the repeats"),
    ({"config": "snapshot"}, "field 'config' must be dict"),
    ({"argv": "run"}, "field 'argv' must be list"),
    ({"started_at": 5}, "field 'started_at' must be str"),
])
def test_hand_edited_meta_is_refused_in_one_line(tmp_path: Path, changes: dict,
                                                 fragment: str) -> None:
    folder = written(tmp_path)
    edit_meta(folder, **changes)
    with pytest.raises(HarnessError, match=fragment) as caught:
        load_run(folder)
    assert str(folder / "meta.json") in str(caught.value) and "\n" not in str(caught.value)


def test_a_csv_with_a_wrong_figure_is_refused(tmp_path: Path) -> None:
    folder = written(tmp_path)
    text = (folder / "samples.csv").read_text().replace("20.0", "twenty", 1)
    (folder / "samples.csv").write_text(text)
    with pytest.raises(HarnessError, match=r"samples\.csv: column 'rss_mb' holds 'twenty'"):
        load_run(folder)


def test_a_truncated_csv_row_names_the_csv(tmp_path: Path) -> None:
    folder = written(tmp_path)
    lines = (folder / "cycles.csv").read_text().splitlines()
    (folder / "cycles.csv").write_text("\n".join([*lines[:-1], lines[-1][:5]]) + "\n")
    with pytest.raises(HarnessError, match=r"cycles\.csv: column '\w+' holds ''"):
        load_run(folder)


def test_the_peak_is_never_below_a_reading_taken() -> None:
    # GIVEN a kernel high-water mark that lags an RSS the harness read (seen: 0.02-0.25 MB)
    run = fake_run("run", [100.0, 119.816], 10, peak=119.523)
    repeat = run.repeats[0]
    lagging = replace(repeat, timeline=(TimelinePoint(5.0, round(120.1 * MB), 1),))
    # THEN the peak is the highest of the kernel's figure and every reading
    assert repeat.peak_rss_bytes == round(119.816 * MB)
    assert lagging.peak_rss_bytes == round(120.1 * MB)
    assert values_of(replace(run, repeats=(lagging,)), "peak_rss_mb") == [pytest.approx(120.1)]
    # AND without any kernel figure the readings still give the peak
    assert replace(lagging, kernel_peak_rss_bytes=None).peak_rss_bytes == round(120.1 * MB)


def test_no_interval_from_a_single_repeat() -> None:
    summary = summarize(fake_run("one", [21.8, 21.8], 10, 22.0))
    assert summary.get("rss_last_mb").median == 21.8
    assert summary.get("rss_last_mb").ci95_of_mean is None


def test_an_untrimmed_sample_survives_the_round_trip(tmp_path: Path) -> None:
    run = fake_run("run", [20.0, 24.0], 10, 25.0)
    sample = replace(run.repeats[0].samples[-1], untrimmed_rss_bytes=round(26.5 * MB))
    repeat = replace(run.repeats[0], samples=(*run.repeats[0].samples[:-1], sample))
    folder = tmp_path / "run"
    folder.mkdir()
    write_run(replace(run, repeats=(repeat,)), folder)
    loaded: Sample = load_run(folder).repeats[0].samples[-1]
    assert loaded.untrimmed_rss_bytes == round(26.5 * MB)


def replace_first_figure(path: Path, column: str, text: str) -> None:
    """Put `text` in `column` of the CSV's first data row."""
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    row[header.index(column)] = text
    path.write_text("\n".join([lines[0], ",".join(row), *lines[2:]]) + "\n")


@pytest.mark.parametrize(("csv_name", "column"), [
    ("samples.csv", "rss_mb"), ("samples.csv", "sampled_peak_rss_mb"),
    ("samples.csv", "kernel_peak_rss_mb"), ("samples.csv", "heap_peak_mb"),
    ("samples.csv", "untrimmed_rss_mb"), ("samples.csv", "elapsed_ms"),
    ("cycles.csv", "load_ms"), ("cycles.csv", "update_ms"), ("cycles.csv", "cycle"),
    ("timeline.csv", "rss_mb"), ("timeline.csv", "time_ms"),
])
@pytest.mark.parametrize("figure", ["nan", "inf", "-inf", "1e400", "-50", "1e308"])
def test_a_figure_no_run_can_have_is_refused_naming_the_csv_and_column(
        tmp_path: Path, csv_name: str, column: str, figure: str) -> None:
    folder = written(tmp_path)
    if figure == "1e308" and not column.endswith("_mb"):
        return  # a finite time or cycle this large is merely implausible, not unreadable
    replace_first_figure(folder / csv_name, column, figure)
    with pytest.raises(HarnessError) as caught:
        load_run(folder)
    message = str(caught.value)
    assert message.startswith(f"{folder / csv_name}: column {column!r} holds {figure!r}")
    assert "\n" not in message


@pytest.mark.parametrize(("field", "value", "fragment"), [
    ("cycles", True, "field 'config.cycles' must be int, got True"),
    ("cycles", "5", "field 'config.cycles' must be int, got '5'"),
    ("cycles", 5.0, "field 'config.cycles' must be int"),
    ("trim", 1, "field 'config.trim' must be bool, got 1"),
    ("interval_ms", "10", "field 'config.interval_ms' must be float"),
    ("interval_ms", True, "field 'config.interval_ms' must be float"),
    ("interval_ms", float("nan"), "field 'config.interval_ms' must be a finite number"),
    ("label", 7, "field 'config.label' must be str"),
    ("heap", None, "field 'config.heap' must be str, got None"),
    ("generate", {"profile": "realistic", "seed": "1", "target_kb": 100},
     "field 'config.generate.seed' must be int"),
    ("generate", {"profile": "realistic", "seed": 1, "target_kb": True},
     "field 'config.generate.target_kb' must be int"),
])
def test_every_config_field_is_type_checked(tmp_path: Path, field: str, value: object,
                                            fragment: str) -> None:
    folder = written(tmp_path)
    meta = json.loads((folder / "meta.json").read_text())
    meta["config"][field] = value
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(HarnessError) as caught:
        load_run(folder)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)
    assert str(caught.value).startswith(str(folder / "meta.json"))


def test_a_whole_number_float_field_and_optional_fields_still_load(tmp_path: Path) -> None:
    folder = written(tmp_path)
    meta = json.loads((folder / "meta.json").read_text())
    meta["config"]["interval_ms"] = 10  # a float written as a JSON integer
    (folder / "meta.json").write_text(json.dumps(meta))
    assert load_run(folder).config.interval_ms == 10.0


@pytest.mark.parametrize("command", ["gate", "report", "compare"])
def test_the_commands_refuse_a_non_finite_rss_in_one_line(tmp_path: Path, command: str) -> None:
    from tests.conftest import assert_one_line_error, run_cli

    folder = written(tmp_path)
    other = tmp_path / "other"
    shutil.copytree(folder, other)
    replace_first_figure(folder / "samples.csv", "rss_mb", "nan")
    args = {"gate": (str(folder), "--baseline", str(other)),
            "report": (str(folder), "-o", str(tmp_path / "out.html")),
            "compare": (str(other), str(folder), "-o", str(tmp_path / "cmp"))}[command]
    result = run_cli(command, *args)
    assert_one_line_error(result, 2, f"{folder / 'samples.csv'}: column 'rss_mb' holds 'nan'")
    assert "Traceback" not in result.stderr


GOLDEN = Path(__file__).resolve().parent.parent / "golden"


def test_a_schema_2_folder_loads_with_the_lifetime_peak_it_was_measured_with() -> None:
    # GIVEN a folder written by schema 2: no peak_method, samples.csv without the new columns
    folder = GOLDEN / "before"
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["schema_version"] == 2
    # WHEN it is loaded
    run = load_run(folder)
    # THEN every repeat's peak is the lifetime kind, figure for figure the one it recorded
    for repeat, recorded in zip(run.repeats, meta["repeats"], strict=True):
        assert repeat.peak_method == PEAK_LIFETIME
        assert round(repeat.peak_rss_bytes / MB, 3) == recorded["peak_rss_mb"]  # CSV resolution
        assert all(s.kernel_peak_rss_bytes is None and s.heap_peak_bytes is None
                   for s in repeat.samples)


def per_interval_repeat(tail_mb: float | None = None) -> WorkerRun:
    """A repeat with per-interval kernel peaks: start-up and warm-up peaked at 300 MB (in
    sample 0's interval), a later kernel figure lags a reading, and a reading after the last
    sample (`tail_mb`), if given."""
    run = fake_run("run", [20.0, 100.0, 100.0], 10, peak=100.5)
    samples = [replace(s, kernel_peak_rss_bytes=round(k * MB), sampled_peak_rss_bytes=round(r * MB),
                       heap_peak_bytes=round(h * MB))
               for s, k, r, h in zip(run.repeats[0].samples, (300.0, 119.7, 110.0),
                                     (20.0, 119.9, 105.0), (40.0, 30.0, 31.0), strict=True)]
    timeline = [TimelinePoint(5.0, round(250 * MB), 0)]
    if tail_mb is not None:
        timeline.append(TimelinePoint(900.0, round(tail_mb * MB), 20))
    return replace(run.repeats[0], samples=tuple(samples), timeline=tuple(timeline),
                   peak_method=PEAK_PER_INTERVAL)


def test_a_per_interval_peak_leaves_out_cycle_0_and_is_never_below_a_later_reading() -> None:
    repeat = per_interval_repeat()
    # THEN the peak is the highest interval peak of cycles >= 1: the reading where the kernel
    # lagged it (119.9 over 119.7), not the 300 MB of start-up and warm-up
    assert repeat.peak_rss_bytes == round(119.9 * MB)
    assert repeat.sampled_peak_rss_bytes == round(119.9 * MB)
    # AND a reading after the last sample counts, as does the kernel's mark of that tail
    assert per_interval_repeat(tail_mb=121.0).peak_rss_bytes == round(121.0 * MB)
    assert replace(repeat, kernel_peak_rss_bytes=round(122 * MB)).peak_rss_bytes == round(
        122 * MB)
    # AND the same figures taken over the worker's life count the 300 MB, as before
    assert replace(repeat, peak_method=PEAK_LIFETIME).peak_rss_bytes == round(300 * MB)
    # AND the heap peak metric is the highest traced peak of cycles >= 1
    run = replace(fake_run("run", [20.0, 100.0, 100.0], 10, peak=100.5), repeats=(repeat,))
    assert values_of(run, "heap_peak_mb") == [pytest.approx(31.0)]


def test_per_interval_figures_survive_the_round_trip(tmp_path: Path) -> None:
    run = fake_run("run", [20.0, 100.0, 100.0], 10, peak=100.5)
    run = replace(run, repeats=(replace(per_interval_repeat(tail_mb=121.0),
                                        peak_reset_error="a later reset failed"),))
    folder = tmp_path / "run"
    folder.mkdir()
    kept = write_run(run, folder)
    loaded = load_run(folder)
    assert loaded == kept and loaded.repeats[0] == run.repeats[0]
    meta = json.loads((folder / "meta.json").read_text())["repeats"][0]
    assert meta["peak_method"] == PEAK_PER_INTERVAL
    assert meta["peak_rss_bytes"] == round(121.0 * MB)


def test_an_unknown_peak_method_is_refused_by_name(tmp_path: Path) -> None:
    folder = written(tmp_path)
    meta = json.loads((folder / "meta.json").read_text())
    meta["repeats"][0]["peak_method"] = "guessed"
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(HarnessError, match="field 'peak_method' must be one of"):
        load_run(folder)
