"""Options shared by commands that make a store."""

from __future__ import annotations

from collections.abc import Callable

import click

from harness.profiles import PROFILES


def store_shape_options(command: Callable) -> Callable:
    for option in reversed((
        click.option("--profile", type=click.Choice(sorted(PROFILES)), default="realistic",
                     show_default=True, help="Entry shape (see README)."),
        click.option("--target-kb", type=int, help="Store size in KiB (1 KB = 1024 bytes)."),
        click.option("--entries", type=int, help="Number of entries instead of a size."),
        click.option("--seed", type=int, default=1, show_default=True,
                     help="Same seed and arguments give a byte-identical file."),
    )):
        command = option(command)
    return command
