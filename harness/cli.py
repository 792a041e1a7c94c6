"""The `harness` command: options -> records -> runs -> writers and judges."""

from __future__ import annotations

import contextlib
import sys

import click

from session_store_harness import __version__
from session_store_harness.commands.ab import ab
from session_store_harness.commands.bench import bench
from session_store_harness.commands.calibrate import calibrate
from session_store_harness.commands.check_memory import check_memory
from session_store_harness.commands.check_worker import check_worker
from session_store_harness.commands.ci import ci
from session_store_harness.commands.compare import compare
from session_store_harness.commands.conform import conform
from session_store_harness.commands.gate import gate
from session_store_harness.commands.generate import generate
from session_store_harness.commands.history import history
from session_store_harness.commands.import_store import import_store
from session_store_harness.commands.report import report
from session_store_harness.commands.run import run
from session_store_harness.commands.stress import stress
from session_store_harness.commands.sweep import merge, sweep
from session_store_harness.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, HarnessError
from session_store_harness.measuring.processes import (
    describe_interruption,
    interrupt_on_signals,
    limit_numeric_threads,
)
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
cli.add_command(ab)
cli.add_command(conform)
cli.add_command(check_worker)
cli.add_command(ci)
cli.add_command(history)
cli.add_command(import_store)


def main(argv: list[str] | None = None) -> None:
    """Entry point: one-line errors with their exit codes; tracebacks only with --debug.

    SIGTERM and SIGHUP end a command as Ctrl-C does (exit 130, partial results kept).
    """
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    limit_numeric_threads()  # before any command can load numpy or scipy
    interrupt_on_signals()
    try:
        cli.main(args=argv, prog_name="harness", standalone_mode=False)
    except click.exceptions.Abort as exc:  # click's wrapping of a KeyboardInterrupt
        _interrupted(exc.__cause__)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE if exc.exit_code == 2 else exc.exit_code)
    except (HarnessError, StoreError) as exc:
        if debug:
            raise
        _say(f"harness: error: {exc}")
        sys.exit(exc.exit_code if isinstance(exc, HarnessError) else EXIT_FAILED)
    except KeyboardInterrupt as exc:
        _interrupted(exc)


def _interrupted(exc: BaseException | None) -> None:
    _say(f"harness: {describe_interruption(exc)}")
    sys.exit(EXIT_INTERRUPTED)


def _say(line: str) -> None:
    # after SIGHUP stderr may be a closed terminal; the exit code must still be the right one
    with contextlib.suppress(OSError):
        click.echo(line, err=True)


if __name__ == "__main__":
    main()
