"""`harness check-memory`: a peak-memory gate for any command (the startup-memory check)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from click.core import ParameterSource

from session_store_harness.errors import EXIT_FAILED, HarnessError
from session_store_harness.measuring.memcheck import CaseResult, check_case
from session_store_harness.settings.memory_cases import (
    MemoryCase,
    cases_from_config,
    check_timing,
    with_env_override,
)
from session_store_harness.writers.memory_text import run_line, verdict_line

# Per-case settings: with --config each case sets its own, so these options would be ignored.
CASE_OPTIONS = ("limit_mb", "runs", "name", "keep_home")


@click.command(context_settings={"ignore_unknown_options": True})
@click.option("--limit-mb", type=float,
              help="Peak RSS the command must stay under (with a command, not --config).")
@click.option("--runs", type=int, default=1, show_default=True,
              help="Runs per case; the verdict uses their median (with a command).")
@click.option("--name", help="Case name in the output (default: the command).")
@click.option("--config", type=click.Path(path_type=Path),
              help="TOML with [[tool.harness.check-memory.cases]] (used when no command). "
                   "A case's command is a list of arguments, or a string split like a shell "
                   "line (shlex.split; no shell runs).")
@click.option("--interval-ms", type=float, default=10.0, show_default=True,
              help="How often the process tree's RSS is read, 1 to 60000 ms.")
@click.option("--timeout", "timeout_s", type=float, default=600.0, show_default=True,
              help="Seconds (positive) before the command's whole process group is killed.")
@click.option("--keep-home", is_flag=True, help="Run with the real HOME, not a throwaway one.")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def check_memory(limit_mb: float | None, runs: int, name: str | None, config: Path | None,
                 interval_ms: float, timeout_s: float, keep_home: bool,
                 command: tuple[str, ...]) -> None:
    """Run a command (no shell) and fail when its peak RSS is over the limit.

    Example: harness check-memory --limit-mb 400 --runs 3 --name status-json -- mycli status

    Every process of the command counts, short-lived ones too: a small launcher reaps the whole
    tree as its subreaper and reports the kernel's largest peak (rusage of reaped tree); the
    tree's RSS is sampled as well (sampled), and a cgroup v2 child's memory.peak is read where
    our cgroup delegates the memory controller (cgroup memory.peak). Each run line names the
    method that gave the peak. What the command leaves running when it exits is killed. A run
    nothing measured never passes.

    In GitHub Actions, a table of the cases is appended to $GITHUB_STEP_SUMMARY and each case
    that fails is an `::error::` annotation; both say how the peak was measured, and why not
    by cgroup memory.peak where it was not.

    With --config, every case is checked (keys, types, limit overrides) before any runs; a
    case's command may be a string, split like a shell line by shlex.split, never by a shell.
    Each case sets its own limit, runs, name and HOME, so --limit-mb, --runs, --name and
    --keep-home are refused with --config. HARNESS_MEMORY_LIMIT_MB_<NAME>, then
    HARNESS_MEMORY_LIMIT_MB, override a case's limit.
    """
    check_timing(interval_ms, timeout_s)
    cases = _cases(limit_mb, runs, name, config, keep_home, command)
    # every limit override is read, and refused, before the first command starts
    cases = [with_env_override(case) for case in cases]
    results: list[CaseResult] = []
    try:
        for case in cases:
            result = check_case(case, interval_ms, timeout_s, _echo_run)
            click.echo(verdict_line(result), err=_not_judged(result))
            results.append(result)
    except HarnessError as exc:  # a command not found, a timeout: the job page says so too
        _github(results, stopped=str(exc))
        raise
    _github(results)
    failed = [result.case.name for result in results if not result.passed]
    if failed:
        click.echo(f"[memory] over the limit or failed: {', '.join(failed)}", err=True)
        sys.exit(EXIT_FAILED)


def _github(results: list[CaseResult], stopped: str | None = None) -> None:
    """The step summary where GITHUB_STEP_SUMMARY is set; `::error::` lines in GitHub Actions.
    `stopped`: the error that ended the check before every case ran."""
    from session_store_harness.writers.github import (
        append_step_summary,
        in_github_actions,
        summary_path,
    )
    from session_store_harness.writers.memory_text import memory_annotations, memory_markdown

    path = summary_path()
    warning = append_step_summary(path, memory_markdown(results, stopped)) if path else None
    if warning:
        click.echo(warning, err=True)
    annotations = memory_annotations(results, stopped) if in_github_actions() else ""
    if annotations:
        click.echo(annotations)


def _echo_run(result: CaseResult) -> None:
    if not _not_judged(result):
        click.echo(run_line(result))


def _not_judged(result: CaseResult) -> bool:
    """A run that failed, or that nothing measured, has no figure to judge: said on stderr."""
    return result.failed_run is not None or result.unmeasured_run is not None


def _cases(limit_mb: float | None, runs: int, name: str | None, config: Path | None,
           keep_home: bool, command: tuple[str, ...]) -> list[MemoryCase]:
    if command:
        if limit_mb is None:
            raise HarnessError("--limit-mb is required with a command")
        return [MemoryCase(name or Path(command[0]).name, command, limit_mb, runs,
                           throwaway_home=not keep_home)]
    if config is not None:
        ignored = _given(CASE_OPTIONS)
        if ignored:
            raise HarnessError(f"{', '.join(ignored)} would be ignored with --config: each "
                               f"case in {config} sets its own (or give a command after --)")
        return cases_from_config(config)
    raise HarnessError("give a command after --, or --config with memory cases")


def _given(names: tuple[str, ...]) -> list[str]:
    """The options among `names` the user gave (on the command line or from the
    environment), by their flag; --runs has a default, so its value cannot tell."""
    ctx = click.get_current_context()
    defaults = (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP, None)
    return [param.opts[0] for param in ctx.command.params
            if param.name in names and ctx.get_parameter_source(param.name) not in defaults]
