"""The generator: format, exact size, determinism, shapes, and refusing to overwrite."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from session_store_harness.errors import HarnessError
from session_store_harness.generating.generator import GenerateSpec, generate
from session_store_harness.stores.jsonfile import serialize


@pytest.mark.parametrize(("profile", "target_kb"), [
    ("realistic", 60), ("realistic", 500), ("realistic", 2000), ("pr", 10), ("pr", 777)])
def test_size_lands_on_the_target_and_format_is_the_gateways(tmp_path: Path, profile: str,
                                                             target_kb: int) -> None:
    # GIVEN a target size WHEN generating THEN the file has exactly that many bytes
    out = tmp_path / "sessions.json"
    made = generate(GenerateSpec(profile, seed=5, target_kb=target_kb), out)
    text = out.read_text(encoding="utf-8")
    assert made.size_bytes == out.stat().st_size == target_kb * 1024
    # AND it is byte-for-byte what the stores' serializer writes (2-space indent, no newline)
    store = json.loads(text)
    assert serialize(store) == text
    assert not text.endswith("\n")
    assert len(store) == made.entries
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_same_arguments_give_identical_bytes_and_seeds_differ(tmp_path: Path) -> None:
    paths = [tmp_path / name for name in ("a.json", "b.json", "c.json")]
    generate(GenerateSpec("realistic", seed=1, target_kb=300), paths[0])
    generate(GenerateSpec("realistic", seed=1, target_kb=300), paths[1])
    generate(GenerateSpec("realistic", seed=2, target_kb=300), paths[2])
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()


def test_realistic_profile_has_the_gateways_key_and_entry_shapes(tmp_path: Path) -> None:
    out = tmp_path / "sessions.json"
    generate(GenerateSpec("realistic", seed=1, target_kb=3000), out)
    store = json.loads(out.read_text())
    keys = list(store)
    assert keys[0] == "agent:main:main" and "lastHeartbeatText" in store[keys[0]]
    assert all(key == key.lower() for key in keys)
    kinds = {key.split(":")[2] if ":direct:" not in key else "direct" for key in keys}
    assert {"main", "cron", "subagent", "direct"} <= kinds
    assert any(":group:" in key for key in keys) and any(":thread:" in key for key in keys)
    for entry in store.values():
        assert isinstance(entry["sessionId"], str) and isinstance(entry["updatedAt"], int)
    # a cron job's base key holds the same entry as its latest run
    bases = [key for key in keys if ":cron:" in key and ":run:" not in key]
    for base in bases:
        runs = [key for key in keys if key.startswith(base + ":run:")]
        assert runs and store[base] == store[runs[-1]]
    full = [e for e in store.values() if "skillsSnapshot" in e]
    sizes = [len(json.dumps(e, indent=2)) for e in full]
    assert len(full) > 0.8 * len(store)
    assert min(sizes) > 12 * 1024 and max(sizes) < 60 * 1024
    assert all(len(e["skillsSnapshot"]["prompt"]) <= 30_000 for e in full)
    assert all(e["skillsSnapshot"]["prompt"].startswith("<available_skills>") for e in full
               if len(e["skillsSnapshot"]["prompt"]) > 100)


def test_pr_profile_is_the_fixs_stress_shape(tmp_path: Path) -> None:
    out = tmp_path / "sessions.json"
    generate(GenerateSpec("pr", seed=1, target_kb=7600), out)
    store = json.loads(out.read_text())
    assert list(store)[:3] == ["session:0", "session:1", "session:2"]
    assert set(store["session:5"]) == {"sessionId", "updatedAt", "label", "displayName"}
    assert store["session:5"]["displayName"].endswith("x" * 2048)
    # docs/store-behaviour.md, "The fix's stress shape": 3,529 entries for 7.6 MB
    assert 3400 <= len(store) <= 3600


def test_entries_mode_writes_exactly_that_many(tmp_path: Path) -> None:
    for profile in ("realistic", "pr"):
        out = tmp_path / f"{profile}.json"
        made = generate(GenerateSpec(profile, seed=1, entries=37), out)
        assert made.entries == len(json.loads(out.read_text())) == 37


def test_existing_file_is_kept_without_force(tmp_path: Path) -> None:
    out = tmp_path / "sessions.json"
    out.write_bytes(b"precious")
    with pytest.raises(HarnessError, match="already exists"):
        generate(GenerateSpec("pr", seed=1, target_kb=20), out)
    assert out.read_bytes() == b"precious"
    generate(GenerateSpec("pr", seed=1, target_kb=20), out, force=True)
    assert out.stat().st_size == 20 * 1024
    assert not list(tmp_path.glob(".*partial"))


@pytest.mark.parametrize(("spec", "message"), [
    (dict(profile="nope", seed=1, target_kb=10), "unknown profile"),
    (dict(profile="pr", seed=1), "exactly one"),
    (dict(profile="pr", seed=1, target_kb=10, entries=3), "exactly one"),
    (dict(profile="pr", seed=1, target_kb=0), "between"),
    (dict(profile="pr", seed=1, target_kb=-5), "between"),
    (dict(profile="pr", seed=1, target_kb=10**12), "between"),
    (dict(profile="pr", seed=1, entries=0), "between"),
])
def test_bad_specs_are_refused(spec: dict, message: str) -> None:
    with pytest.raises(HarnessError, match=message):
        GenerateSpec(**spec)


def test_target_below_one_entry_is_refused(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="too small"):
        generate(GenerateSpec("realistic", seed=1, target_kb=1), tmp_path / "s.json")
    assert not (tmp_path / "s.json").exists()
