"""The CLI starts small: heavy libraries load only in the commands that draw or judge."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("pandas", "matplotlib", "scipy", "numpy")


def test_cli_import_leaves_heavy_libraries_unloaded() -> None:
    code = ("import sys, harness.cli; "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == ""


def top_level_modules(statement: str) -> set[str]:
    code = f"{statement}; import sys; print(','.join(m.split('.')[0] for m in sys.modules))"
    return set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True).stdout.strip().split(","))


def test_worker_imports_only_the_standard_library_and_the_stores() -> None:
    at_startup = top_level_modules("pass")  # site hooks of the venv load in every process
    added = top_level_modules("import harness.worker") - at_startup
    assert added - set(sys.stdlib_module_names) == {"harness", "stores"}
