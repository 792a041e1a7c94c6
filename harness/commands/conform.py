"""`harness conform`: the store contract, checked on a user's store; exit 1 if a rule fails."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from session_store_harness.commands.options import store_shape_options
from session_store_harness.conformance.conform import ConformConfig, conform_store
from session_store_harness.errors import EXIT_FAILED, HarnessError
from session_store_harness.measuring.targets import target_of
from session_store_harness.model.config import generate_spec
from session_store_harness.model.store_spec import parse_store_spec
from session_store_harness.writers.conform_json import conform_json
from session_store_harness.writers.conform_text import conform_lines
from session_store_harness.writers.folder import optional_result_folder, write_text

EXIT_HELP = ("Exit codes: 0 every rule passed (warnings allowed); 1 a rule failed (each named "
             "with its evidence); 2 bad options, or a store that does not load.")


@click.command(epilog=EXIT_HELP)
@click.option("--store", required=True,
              help="The store to check: a built-in name (wholefile, snapshot, ...), "
                   "package.module:Class or path/file.py:Class; with --runtime node a built-in "
                   "name or a module exporting createStore(path, env).")
@click.option("--runtime", type=click.Choice(["python", "node"]),
              help="Run the store in Python or in Node.js (default: Node for a .mjs/.js/.ts "
                   "module, else Python).")
@click.option("--node-arg", "node_args", multiple=True,
              help="An argument for node, before the driver (repeatable), e.g. "
                   "--node-arg=--import=tsx for a TypeScript module.")
@store_shape_options
@click.option("--writers", type=int, default=4, show_default=True,
              help="Writer processes updating the store at once (no-lost-updates).")
@click.option("--updates", type=int, default=50, show_default=True,
              help="Updates per writer, plain and again reusing the loaded store.")
@click.option("--crash-trials", type=int, default=40, show_default=True,
              help="Writers killed with SIGKILL at seeded random points (crash-safe; 0 skips).")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Write conform.json into this new folder.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="What to print: one line per rule, or conform.json.")
def conform(store: str, runtime: str | None, node_args: tuple[str, ...], profile: str,
            target_kb: int | None, entries: int | None, seed: int, writers: int, updates: int,
            crash_trials: int, output: Path | None, output_format: str) -> None:
    """Check a store against the store contract: load, update, save, base reuse, file mode
    and format, concurrent writers, writers killed mid-write (docs/conformance.md)."""
    config = ConformConfig(target=target_of(parse_store_spec(store, runtime, None, node_args)),
                           store=generate_spec("conform", profile, seed, target_kb, entries),
                           writers=writers, updates=updates, crash_trials=crash_trials,
                           seed=seed)
    with optional_result_folder(output) as folder:
        report = conform_store(config, tuple(sys.argv))
    document = conform_json(report)
    if output_format == "json":
        click.echo(document, nl=False)
    else:
        click.echo("\n".join(conform_lines(report)))
    if folder is not None:
        write_text(folder / "conform.json", document)
    if not report.ok:
        raise HarnessError(f"conform: {len(report.failed)} of {len(report.results)} rules "
                           f"failed: {', '.join(r.rule for r in report.failed)}", EXIT_FAILED)
