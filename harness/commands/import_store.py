"""`harness import-store`: bring a sessions.json into an SQLite store database."""

from __future__ import annotations

from pathlib import Path

import click

from session_store_harness.generating.importing import import_store as import_into


@click.command("import-store")
@click.argument("source", type=click.Path(path_type=Path))
@click.argument("database", type=click.Path(path_type=Path))
def import_store(source: Path, database: Path) -> None:
    """Import SOURCE (a sessions.json) into the new SQLite database DATABASE, streamed.

    The `sqlite` store keeps a store at PATH in PATH.db; it imports PATH itself on first open
    when PATH.db does not exist. An existing DATABASE is never replaced.
    """
    made = import_into(source, database)
    click.echo(f"imported {made.sessions} sessions from {made.source} into {made.database} "
               f"({made.size_bytes} bytes)")
