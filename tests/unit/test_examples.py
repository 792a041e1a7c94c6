"""The reusable action and the shipped workflows only use inputs, commands and options that
exist: a renamed option must break this test, not a user's CI."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from session_store_harness.cli import cli

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "actions" / "memory-gate" / "action.yml"
EXAMPLES = ROOT / "examples" / "github-actions"


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def help_of(command: str) -> str:
    return CliRunner().invoke(cli, [command, "--help"], terminal_width=200).output


def test_every_action_input_is_declared_used_and_every_option_exists() -> None:
    action = load(ACTION)
    declared = set(action["inputs"])
    text = ACTION.read_text()
    used = set(re.findall(r"inputs\.([a-z-]+)", text))
    assert used == declared, (used ^ declared)
    # the options the step hands `harness ci` are all options of `harness ci`
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "ci")
    options = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", step["run"]))
    ci_help = help_of("ci")
    assert options and all(option in ci_help for option in options), options
    # inputs reach the script through env only: an input's text is never pasted into a script
    for step in action["runs"]["steps"]:
        assert "inputs." not in step.get("run", ""), step.get("name")


def test_the_example_workflow_gives_the_action_only_inputs_it_has() -> None:
    inputs = set(load(ACTION)["inputs"])
    workflow = load(EXAMPLES / "memory-gate.yml")
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    uses = [s for s in steps if "actions/memory-gate@" in s.get("uses", "")]
    assert len(uses) == 1
    assert set(uses[0]["with"]) <= inputs
    extra = uses[0]["with"].get("args", "")
    ci_help = help_of("ci")
    for option in re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", extra):
        assert option in ci_help, option


def test_the_sweep_example_calls_real_commands_and_options() -> None:
    text = re.sub(r"\s*\n\s+", " ", (EXAMPLES / "sweep.yml").read_text())
    calls = [chunk.split(None, 1) for chunk in text.split(".venv/bin/harness ")[1:]]
    assert {name for name, _ in calls} >= {"sweep", "merge"}
    for name, rest in calls:
        assert name in cli.commands, name
        rest = re.split(r" - (?:uses|name|run):", rest)[0]
        for option in re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", rest):
            assert option in help_of(name), f"{name} {option}"
