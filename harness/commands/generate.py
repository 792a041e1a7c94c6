"""`harness generate`: write a synthetic sessions.json."""

from __future__ import annotations

from pathlib import Path

import click

from session_store_harness.commands.options import store_shape_options
from session_store_harness.generating.generator import generate as generate_store
from session_store_harness.model.config import generate_spec


@click.command()
@store_shape_options
@click.option("-o", "--output", "output", type=click.Path(path_type=Path), required=True,
              help="Where to write the store.")
@click.option("--force", is_flag=True,
              help="Replace an existing file, or a symbolic link (never its target).")
def generate(profile: str, target_kb: int | None, entries: int | None, seed: int, output: Path,
             force: bool) -> None:
    """Generate a synthetic sessions.json of a target size or entry count."""
    spec = generate_spec("generate", profile, seed, target_kb, entries)
    made = generate_store(spec, output, force=force)
    click.echo(f"wrote {made.path}: {made.size_bytes} bytes, {made.entries} entries "
               f"(profile {profile}, seed {seed})")
