"""Every command documents itself: each option has help text, and exit codes are listed."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from session_store_harness.cli import cli
from session_store_harness.errors import EXIT_CODES

COMMANDS = sorted(cli.commands)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_has_help_text(name: str) -> None:
    command = cli.commands[name]
    bare = [p.opts[0] for p in command.params
            if isinstance(p, click.Option) and not (p.help or "").strip()]
    assert bare == [], f"harness {name}: options without help: {bare}"


def test_gate_help_lists_every_exit_code() -> None:
    text = CliRunner().invoke(cli, ["gate", "--help"]).output
    for code in (0, 1, 2, 3):
        assert f"{code}: {EXIT_CODES[code]}" in " ".join(text.split()), text
