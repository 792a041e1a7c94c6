"""Execute a notebook with nbclient (no Jupyter server), for `make notebook` and the tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def execute(source: Path, output: Path, env: dict[str, str]) -> None:
    """Run every cell of `source` with `env` set, and save the executed copy to `output`."""
    notebook = nbformat.read(source, as_version=4)
    saved = dict(os.environ)
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        NotebookClient(notebook, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(source.parent)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    nbformat.write(notebook, output)


# the repository's notebooks/ (the Makefile installs the package editable, in place)
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOK = NOTEBOOKS / "compare_runs.ipynb"
# any run, ab, compare or sweep folders, given in HARNESS_FOLDERS (os.pathsep between them)
ANALYSIS = NOTEBOOKS / "analyse_results.ipynb"


def analyse(folders: list[Path], output: Path) -> None:
    """Execute the analysis notebook on `folders` and save the executed copy to `output`."""
    execute(ANALYSIS, output,
            {"HARNESS_FOLDERS": os.pathsep.join(str(f.resolve()) for f in folders)})


if __name__ == "__main__":
    if sys.argv[1:2] == ["--analyse"]:  # --analyse OUT.ipynb FOLDER...
        analyse([Path(f) for f in sys.argv[3:]], Path(sys.argv[2]))
        out = sys.argv[2]
    else:  # BEFORE AFTER OUT.ipynb: the comparison notebook, as `make notebook` runs it
        before, after, out = sys.argv[1:4]
        execute(NOTEBOOK, Path(out), {"HARNESS_BEFORE": str(Path(before).resolve()),
                            "HARNESS_AFTER": str(Path(after).resolve())})
    print(f"executed notebook: {out}")
