"""`harness generate` as a user runs it: streaming memory, refusals, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import assert_one_line_error, run_cli

# Generates a store and reports the process's own peak RSS (VmHWM) before exiting.
PEAK_AFTER_GENERATE = """
import sys
from pathlib import Path
from session_store_harness.generating.generator import GenerateSpec, generate
generate(GenerateSpec("realistic", seed=1, target_kb=int(sys.argv[1])), Path(sys.argv[2]))
status = Path("/proc/self/status").read_text()
print(next(int(l.split()[1]) for l in status.splitlines() if l.startswith("VmHWM:")))
"""


def peak_kb_generating(target_kb: int, out: Path) -> int:
    done = subprocess.run([sys.executable, "-c", PEAK_AFTER_GENERATE, str(target_kb), str(out)],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_generation_streams_memory_does_not_grow_with_size(tmp_path: Path) -> None:
    # GIVEN stores of 1 MB and 60 MB WHEN generated THEN the peak RSS barely differs
    small = peak_kb_generating(1024, tmp_path / "small.json")
    large = peak_kb_generating(60 * 1024, tmp_path / "large.json")
    assert (tmp_path / "large.json").stat().st_size == 60 * 1024 * 1024
    assert large - small < 10 * 1024, (small, large)


def test_generate_cli_writes_and_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "sessions.json"
    made = run_cli("generate", "--profile", "pr", "--target-kb", "50", "-o", str(out))
    assert made.returncode == 0, made.stderr
    assert f"{50 * 1024} bytes" in made.stdout
    first = out.read_bytes()
    refused = run_cli("generate", "--profile", "pr", "--target-kb", "80", "-o", str(out))
    assert_one_line_error(refused, 2, "already exists", "--force")
    assert out.read_bytes() == first
    forced = run_cli("generate", "--profile", "pr", "--target-kb", "80", "-o", str(out),
                     "--force")
    assert forced.returncode == 0 and out.stat().st_size == 80 * 1024


def test_generate_cli_bad_input(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("generate", "--target-kb", "-1", "-o", str(tmp_path / "a")),
                          2, "--target-kb")
    assert_one_line_error(run_cli("generate", "--profile", "x", "-o", str(tmp_path / "a")), 2)
    assert_one_line_error(run_cli("generate", "-o", str(tmp_path / "no" / "dir" / "a")), 2,
                          "does not exist")
    assert not list(tmp_path.rglob("*"))


def test_generate_cli_fills_the_remainder_that_used_to_crash(tmp_path: Path) -> None:
    # GIVEN seed 691 at 44 KB, whose last entry must fill 22,845 bytes: the one cost where the
    # prompt's character count gains a digit, which used to end in a ValueError traceback
    out = tmp_path / "sessions.json"
    made = run_cli("generate", "--profile", "realistic", "--seed", "691", "--target-kb", "44",
                   "-o", str(out))
    # THEN the file is written to the byte, as valid JSON, with no traceback
    assert made.returncode == 0, made.stderr
    assert "Traceback" not in made.stderr
    assert f"{44 * 1024} bytes" in made.stdout
    assert out.stat().st_size == 44 * 1024
    assert json.loads(out.read_text(encoding="utf-8"))


def test_generate_cli_unusable_output_name_is_one_line(tmp_path: Path) -> None:
    result = run_cli("generate", "--profile", "pr", "--target-kb", "20",
                     "-o", str(tmp_path / ("a" * 300)))
    assert_one_line_error(result, 2, "too long")
    assert not list(tmp_path.iterdir())
