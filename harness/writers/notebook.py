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
NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "compare_runs.ipynb"


if __name__ == "__main__":
    before, after, out = sys.argv[1:4]
    execute(NOTEBOOK, Path(out), {"HARNESS_BEFORE": str(Path(before).resolve()),
                        "HARNESS_AFTER": str(Path(after).resolve())})
    print(f"executed notebook: {out}")
