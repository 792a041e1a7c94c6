"""The Node `latefile` called directly: the same bytes and blobs as the Python twin for the same
updates, `get`/`updateEntry` semantics; the Node `sqlite` store's one-line refusal."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from session_store_harness.generating.generator import GenerateSpec, generate
from session_store_harness.measuring.targets import NODE_FOLDER
from session_store_harness.stores.jsonfile import parse, read_bytes, serialize_bytes
from session_store_harness.stores.latefile import BLOB_FOLDER, LateFileStore

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")

# The same steps in both languages: whole-store updates and single-entry ones.
NODE_STEPS = f"""
import {{ LateFileStore }} from {json.dumps(str(NODE_FOLDER / "latefile.mjs"))};
const [file, first, second] = process.argv.slice(2);
const store = new LateFileStore(file);
const out = [];
out.push(store.update((s) => {{ s[first].label = "naïve \\u2028 ✓"; }}));
out.push(store.updateEntry(second, (e) => ({{ ...e, lastTo: "x" }})));
out.push(store.updateEntry(second, (e) => ({{ ...e, lastTo: "x" }})));
out.push(store.updateEntry("agent:main:new", (e) => e ?? {{ sessionId: "n", ratio: 1.5 }}));
out.push(store.updateEntry("agent:main:absent", () => undefined));
const copy = store.get(first);
copy.label = "the caller's";
out.push(store.get(first).label, store.get("agent:main:absent"));
console.log(JSON.stringify(out));
"""


def python_steps(path: Path, first: str, second: str) -> list:
    store = LateFileStore(path)
    out: list = [store.update(lambda s: s[first].__setitem__("label", "naïve \u2028 ✓")),
                 store.update_entry(second, lambda e: {**e, "lastTo": "x"}),
                 store.update_entry(second, lambda e: {**e, "lastTo": "x"}),
                 store.update_entry("agent:main:new",
                                    lambda e: e or {"sessionId": "n", "ratio": 1.5}),
                 store.update_entry("agent:main:absent", lambda e: None)]
    return [{"wrote": o.wrote, "reusedBase": o.reused_base} for o in out]


def test_node_and_python_latefile_write_the_same_bytes_and_blobs(tmp_path: Path) -> None:
    # GIVEN the same realistic store in two folders
    folders = [tmp_path / "node", tmp_path / "python"]
    for folder in folders:
        folder.mkdir()
        generate(GenerateSpec("realistic", 1, target_kb=150), folder / "sessions.json")
    first, second = list(json.loads((folders[0] / "sessions.json").read_text()))[:2]
    # WHEN Node and Python make the same updates
    script = tmp_path / "steps.mjs"
    script.write_text(NODE_STEPS)
    ran = subprocess.run(["node", str(script), str(folders[0] / "sessions.json"), first, second],
                         capture_output=True, text=True, timeout=60, check=True)
    node_out = json.loads(ran.stdout)
    python_out = python_steps(folders[1] / "sessions.json", first, second)
    # THEN both report the same writes; an unchanged entry and a missing one wrote nothing
    assert node_out[:5] == python_out
    assert [o["wrote"] for o in python_out] == [True, True, False, True, False]
    # AND get hands out copies, and None for a missing entry
    assert node_out[5:] == ["naïve \u2028 ✓", None]
    # AND the files are byte for byte the same, and JSON.stringify of themselves
    node_bytes, python_bytes = (read_bytes(f / "sessions.json") for f in folders)
    assert node_bytes == python_bytes
    assert serialize_bytes(parse(node_bytes, folders[0])) == node_bytes
    # AND so are the blobs, which each language reads back from the other's files
    blobs = [sorted(p.relative_to(f) for p in (f / BLOB_FOLDER).rglob("*.txt")) for f in folders]
    assert blobs[0] == blobs[1] and blobs[0]
    assert LateFileStore(folders[0] / "sessions.json").load() == LateFileStore(
        folders[1] / "sessions.json").load()


def test_the_node_sqlite_store_says_what_it_needs_or_works(tmp_path: Path) -> None:
    path = generate(GenerateSpec("pr", 1, entries=5), tmp_path / "sessions.json").path
    script = tmp_path / "open.mjs"
    script.write_text(
        f"import {{ createSqliteStore }} from {json.dumps(str(NODE_FOLDER / 'sqlite.mjs'))};\n"
        "const store = await createSqliteStore(process.argv[2]);\n"
        "const key = Object.keys(store.load())[0];\n"
        "console.log(JSON.stringify([store.updateEntry(key, (e) => ({ ...e, label: 'n' })),"
        " store.get(key).label]));\n")
    ran = subprocess.run(["node", str(script), str(path)], capture_output=True, text=True,
                         timeout=60)
    if ran.returncode == 0:  # a Node with node:sqlite
        assert json.loads(ran.stdout) == [{"wrote": True, "reusedBase": False}, "n"]
    else:
        version = subprocess.run(["node", "--version"], capture_output=True, text=True,
                                 check=True).stdout.strip()
        assert (f"StoreError: the Node sqlite store needs node:sqlite, Node >= 22.5; "
                f"this is {version}") in ran.stderr
        assert not (tmp_path / "sessions.json.db").exists()
