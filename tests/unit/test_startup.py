"""The CLI starts small: heavy libraries load only in the commands that draw or judge."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("pandas", "matplotlib", "scipy", "numpy")


def test_cli_import_leaves_heavy_libraries_unloaded() -> None:
    code = ("import sys, session_store_harness.cli; "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == ""


def loaded_modules(statement: str) -> set[str]:
    code = f"{statement}; import sys; print(','.join(sys.modules))"
    return set(subprocess.run([sys.executable, "-P", "-c", code], capture_output=True,
                              text=True, check=True).stdout.strip().split(","))


@pytest.mark.parametrize("module", ["session_store_harness.worker.cycles",
                                    "session_store_harness.worker.stress_writer",
                                    "session_store_harness.worker.conform_driver"])
def test_worker_imports_only_the_standard_library_and_its_own_side(module: str) -> None:
    # the processes that run store code: the measured worker, stress writers, conform drivers
    at_startup = loaded_modules("pass")  # site hooks of the venv load in every process
    added = loaded_modules(f"import {module}") - at_startup
    ours = {m for m in added if m.split(".")[0] not in sys.stdlib_module_names}
    allowed = ("session_store_harness.worker", "session_store_harness.stores")
    assert ours - {"session_store_harness", "session_store_harness.errors"} == {
        m for m in ours if m.startswith(allowed)}
    assert module in ours
    # entry points are resolved by the parent: no process that runs store code reads
    # distributions' metadata
    assert "importlib.metadata" not in added
