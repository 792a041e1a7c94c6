"""The `harness` command: options -> records -> runs -> writers and judges."""

from __future__ import annotations

import sys

import click

from session_store_harness import __version__
from session_store_harness.commands.bench import bench
from session_store_harness.commands.calibrate import calibrate
from session_store_harness.commands.check_memory import check_memory
from session_store_harness.commands.compare import compare
from session_store_harness.commands.gate import gate
from session_store_harness.commands.generate import generate
from session_store_harness.commands.report import report
from session_store_harness.commands.run import run
from session_store_harness.commands.stress import stress
from session_store_harness.commands.sweep import merge, sweep
from session_store_harness.errors import EXIT_FAILED, EXIT_USAGE, HarnessError
from session_store_harness.stores import StoreError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(__version__, prog_name="harness", message="%(prog)s %(version)s")
def cli(debug: bool) -> None:
    """Memory stress and benchmark harness for JSON-file session stores."""
    del debug  # read by main() before click parses, so it also covers click's own errors


cli.add_command(generate)
cli.add_command(run)
cli.add_command(compare)
cli.add_command(gate)
cli.add_command(check_memory)
cli.add_command(report)
cli.add_command(bench)
cli.add_command(sweep)
cli.add_command(merge)
cli.add_command(calibrate)
cli.add_command(stress)


def main(argv: list[str] | None = None) -> None:
    """Entry point: one-line errors with their exit codes; tracebacks only with --debug."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="harness", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("harness: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE if exc.exit_code == 2 else exc.exit_code)
    except (HarnessError, StoreError) as exc:
        if debug:
            raise
        click.echo(f"harness: error: {exc}", err=True)
        sys.exit(exc.exit_code if isinstance(exc, HarnessError) else EXIT_FAILED)
    except KeyboardInterrupt:
        click.echo("harness: interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
