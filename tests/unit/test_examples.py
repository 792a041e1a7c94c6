"""The shipped CI example only calls commands and options that exist."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from session_store_harness.cli import cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "github-actions" / "memory-gate.yml"


def test_example_workflow_uses_real_commands_and_options() -> None:
    text = re.sub(r"\s*\n\s+", " ", EXAMPLE.read_text())  # join folded lines
    chunks = text.split(".venv/bin/harness ")[1:]
    calls = [(chunk.split()[0], re.split(r" - (?:uses|name|run):|\.venv/bin/", chunk)[0])
             for chunk in chunks if not chunk.startswith("-")]  # `harness --help` is measured
    assert {name for name, _ in calls} >= {"run", "sweep", "merge", "compare", "report",
                                           "check-memory", "gate"}
    for name, rest in calls:
        assert name in cli.commands, name
        help_text = CliRunner().invoke(cli, [name, "--help"]).output
        for option in re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", rest.split(" -- ")[0]):
            assert option in help_text, f"{name} {option}"
