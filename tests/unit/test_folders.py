"""Result folders are created new, never reused; files appear whole."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from session_store_harness.errors import HarnessError
from session_store_harness.writers.folder import create_folder, new_result_folder, write_text


def test_a_colliding_name_gets_a_counter_not_the_old_folder(tmp_path: Path) -> None:
    now = datetime(2026, 11, 26, 22, 40, 5)
    first = new_result_folder(tmp_path, "demo", now)
    (first / "samples.csv").write_text("kept")
    second = new_result_folder(tmp_path, "demo", now)
    assert (first.name, second.name) == ("20261126-224005-demo", "20261126-224005-demo-2")
    assert (first / "samples.csv").read_text() == "kept" and not any(second.iterdir())


def test_an_existing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="never overwritten"):
        create_folder(tmp_path)


def test_files_are_written_whole_under_a_temporary_name(tmp_path: Path) -> None:
    target = tmp_path / "meta.json"
    write_text(target, "{}\n")
    write_text(target, '{"complete": true}\n')
    assert target.read_text() == '{"complete": true}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["meta.json"]
