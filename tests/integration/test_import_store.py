"""`harness import-store`: streamed (memory grows far less than the file), never replaces a
database, and a file it cannot read is one line with nothing left behind."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

from session_store_harness.generating.generator import GenerateSpec, generate
from session_store_harness.stores.sqlite import SqliteStore
from tests.conftest import assert_one_line_error, run_cli


def peak_mb(*command: str) -> float:
    """The command's peak RSS as `harness check-memory` measures it (every process counted)."""
    result = run_cli("check-memory", "--limit-mb", "100000", "--name", "import", "--", *command)
    assert result.returncode == 0, result.stdout + result.stderr
    return float(re.search(r"import: ([\d.]+) MB peak RSS", result.stdout).group(1))


def big_store(path: Path, size_bytes: int) -> int:
    """A store of about `size_bytes`, fast: one realistic entry's text under many keys (the
    generator takes several seconds for tens of MB on a busy machine); its entry count."""
    one = generate(GenerateSpec("realistic", 1, target_kb=40), path.with_suffix(".one")).path
    entry = json.loads(one.read_text()).popitem()[1]
    text = json.dumps(entry, indent=2).replace("\n", "\n  ")
    count = size_bytes // len(text)
    with path.open("w") as handle:
        handle.write("{\n  " + ",\n  ".join(f'"agent:main:cron:job:run:{i}": {text}'
                                              for i in range(count)) + "\n}")
    one.unlink()
    return count


def import_command(source: Path, database: Path) -> tuple[str, ...]:
    return (sys.executable, "-m", "session_store_harness.cli", "import-store", str(source),
            str(database))


def test_import_memory_grows_far_less_than_the_file(tmp_path: Path) -> None:
    # GIVEN a 64 MiB store and a 1-entry one, each imported by the CLI
    entries = big_store(tmp_path / "big.json", 64 << 20)
    small = generate(GenerateSpec("pr", 1, entries=1), tmp_path / "small.json")
    baseline = peak_mb(*import_command(small.path, tmp_path / "small.db"))
    peak = peak_mb(*import_command(tmp_path / "big.json", tmp_path / "big.db"))
    # THEN the big import's peak is the small one's plus far less than the file (measured: 8 MB
    # more for 50 MB; a whole-file json.load holds the text and the parsed store, several times
    # the file's size)
    file_mb = (tmp_path / "big.json").stat().st_size / 1e6
    assert peak - baseline < file_mb / 4, (baseline, peak, file_mb)
    # AND every session is in the database (what each holds: tests/unit/test_sqlite_store.py)
    assert len(SqliteStore(tmp_path / "big").load()) == entries


def test_import_cli_says_what_it_made_and_refuses_to_replace(tmp_path: Path) -> None:
    source = generate(GenerateSpec("pr", 1, entries=12), tmp_path / "sessions.json").path
    database = tmp_path / "store.db"
    result = run_cli("import-store", str(source), str(database))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"imported 12 sessions from {source} into {database} (")
    assert (os.stat(database).st_mode & 0o777) == 0o600
    made = database.read_bytes()
    assert_one_line_error(run_cli("import-store", str(source), str(database)), 2,
                          f"{database}: already exists; not replacing it")
    assert database.read_bytes() == made


def test_an_unparseable_file_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    source = tmp_path / "sessions.json"
    source.write_text('{"agent:main:main": {"sessionId": "s"},\n "b": {"n": [1, }}')
    result = run_cli("import-store", str(source), str(tmp_path / "store.db"))
    assert_one_line_error(result, 2, f"{source}: invalid JSON at line 2 column 17: "
                                     "Expecting value (no database was written)")
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(os.listdir(tmp_path)) == ["sessions.json"]
    assert_one_line_error(run_cli("import-store", str(tmp_path / "missing.json"),
                                  str(tmp_path / "store.db")), 2,
                          "missing.json: store file does not exist")


def test_a_run_measures_a_copy_of_the_users_database(tmp_path: Path) -> None:
    # GIVEN a user's database, imported from a store file
    source = generate(GenerateSpec("pr", 1, entries=12), tmp_path / "sessions.json").path
    database = tmp_path / "mine.db"
    assert run_cli("import-store", str(source), str(database)).returncode == 0
    before = (database.read_bytes(), database.stat().st_mtime_ns)
    # WHEN the sqlite store runs on it (the other stores read the JSON the copy is written as)
    result = run_cli("run", "--store", "sqlite", "--store-file", str(database), "--cycles", "2",
                     "--repeat", "1", "--results-dir", str(tmp_path / "results"))
    # THEN it measures its 12 sessions
    assert result.returncode == 0, result.stderr
    meta = json.loads(next((tmp_path / "results").glob("*-sqlite/meta.json")).read_text())
    assert meta["store"]["entries"] == 12
    # AND the user's database was only read: same bytes, same mtime, no -wal or -shm beside it
    assert (database.read_bytes(), database.stat().st_mtime_ns) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.db", "results", "sessions.json"]
