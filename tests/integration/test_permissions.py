"""No read or write permission, tested as an unprivileged user (root bypasses file modes)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from session_store_harness.generating.generator import GenerateSpec, generate

NOBODY = 65534


# The interpreter may live where an unprivileged user cannot reach (pyenv under /root), so the
# child starts as root, imports what it needs, and only then gives up root for good.
DROP_ROOT = f"import os; os.setgroups([]); os.setgid({NOBODY}); os.setuid({NOBODY})\n"


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A folder outside pytest's private tmp, which an unprivileged user can enter."""
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to an unprivileged user")
    folder = Path(tempfile.mkdtemp(prefix="harness-perm-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def run_as_nobody(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          cwd="/", timeout=120)


# the store's class looked up (its module imported) before dropping root, as the CLI's are
STORE_CALL = ("import sys; from pathlib import Path\n"
              "from session_store_harness.stores import STORES, StoreError\n"
              "store_class = STORES[sys.argv[1]]\n"
              + DROP_ROOT +
              "try:\n"
              "    s = store_class(Path(sys.argv[2])); s.update(lambda m: None)\n"
              "except StoreError as e:\n"
              "    print(e); sys.exit(3)\n")
# everything the command imports lazily is imported before dropping root: as nobody the
# interpreter's own library under /root cannot be read
CLI_CALL = ("import sys, session_store_harness.cli, session_store_harness.measuring.measure\n"
            "import session_store_harness.commands.run\n"
            "import session_store_harness.settings.project_config\n"
            "import session_store_harness.settings.run_values\n" + DROP_ROOT
            + "session_store_harness.cli.main(sys.argv[1:])\n")


@pytest.mark.parametrize("store_name", ["wholefile", "snapshot"])
def test_unreadable_and_unwritable_stores_are_refused_unchanged(open_dir: Path,
                                                                store_name: str) -> None:
    unreadable = open_dir / "unreadable.json"
    generate(GenerateSpec("pr", 1, target_kb=20), unreadable)  # mode 0600, owned by root
    before = unreadable.read_bytes()
    result = run_as_nobody(STORE_CALL, store_name, str(unreadable))
    assert result.returncode == 3, result.stderr
    assert "no permission" in result.stdout and str(open_dir) in result.stdout
    assert unreadable.read_bytes() == before

    readable = open_dir / "readable.json"
    generate(GenerateSpec("pr", 1, target_kb=20), readable)
    readable.chmod(0o644)  # readable, but the folder is not writable for nobody
    result = run_as_nobody(STORE_CALL, store_name, str(readable))
    assert result.returncode == 3
    assert "no permission to create the lock file" in result.stdout
    assert readable.read_bytes() == before


def test_cli_errors_for_unreadable_store_and_unwritable_results(open_dir: Path) -> None:
    store = open_dir / "sessions.json"
    generate(GenerateSpec("pr", 1, target_kb=20), store)
    (open_dir / "writable").mkdir(mode=0o777)
    (open_dir / "writable").chmod(0o777)
    result = run_as_nobody(CLI_CALL, "run", "--store", "wholefile", "--store-file", str(store),
                           "--results-dir", str(open_dir / "writable"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "sessions.json" in result.stderr and "not readable" in result.stderr
    result = run_as_nobody(CLI_CALL, "run", "--store", "wholefile", "--profile", "pr",
                           "--target-kb", "20", "--results-dir", str(open_dir / "res"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "no permission to create this folder" in result.stderr
