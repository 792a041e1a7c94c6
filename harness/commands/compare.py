"""`harness compare`: before/after plots and a Markdown report."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("before", type=click.Path(path_type=Path))
@click.argument("after", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True)
def compare(before: Path, after: Path, output: Path) -> None:
    """Compare two run folders: plots and report.md."""
    raise NotImplementedError
