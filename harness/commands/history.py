"""`harness history add | show`: a run's summary per commit, kept in plain files, and its steps.

`add` appends one run (or a `harness ab` folder's after side) to `history.jsonl` and its CSV
twin; `show` draws each metric over the commits (PNG, and Mermaid in history.md) and names the
first commit of each step ruptures finds among the commits comparable with the newest.
"""

from __future__ import annotations

from pathlib import Path

import click

from session_store_harness.model.history import DEFAULT_DIR, HISTORY_METRICS


@click.group()
def history() -> None:
    """Keep a run's figures per commit, and find the commits where they stepped."""


@history.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--commit", required=True, help="The commit the run measured (its SHA).")
@click.option("--into", "folder", type=click.Path(path_type=Path), default=DEFAULT_DIR,
              show_default=True, help="The history's folder (made 0700 if missing).")
@click.option("--branch", help="The branch the commit is on, recorded with it.")
@click.option("--commit-time", help="When the commit was made (ISO 8601); default: asked of "
              "git in the current folder, left empty when git does not know the commit.")
@click.option("--replace", is_flag=True,
              help="Replace the record of a commit already in the history (in its place).")
def add(run: Path, commit: str, folder: Path, branch: str | None, commit_time: str | None,
        replace: bool) -> None:
    """Add RUN (a run folder, or a harness ab folder: its after side) to the history."""
    from session_store_harness.measuring.environment import commit_time as git_commit_time
    from session_store_harness.model.history import (
        HISTORY,
        add_record,
        check_commit,
        record_from_run,
        resolve_run_folder,
    )
    from session_store_harness.model.result_folder import load_run

    sha = check_commit(commit)
    run_folder, source = resolve_run_folder(run)
    if source != "run":
        click.echo(f"{run} is a harness ab folder: recording its after side ({run_folder})")
    when = commit_time or git_commit_time(sha, Path.cwd())
    record = record_from_run(load_run(run_folder), sha, source, when, branch)
    count = add_record(folder, record, replace=replace)
    click.echo(f"history: {record.short} added to {folder / HISTORY} ({count} commit"
               f"{'' if count == 1 else 's'})")


@history.command()
@click.option("--from", "folder", type=click.Path(path_type=Path), default=DEFAULT_DIR,
              show_default=True, help="The history's folder.")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="New folder for history.md and history.png (must not exist).")
@click.option("--metric", "metrics", multiple=True, type=click.Choice(HISTORY_METRICS),
              help="A metric to draw and judge (repeatable; default: every one the newest "
              "commit has).")
@click.option("--branch", help="Only the commits recorded on this branch.")
def show(folder: Path, output: Path, metrics: tuple[str, ...], branch: str | None) -> None:
    """Draw each metric over the commits and name the first commit of each step."""
    from session_store_harness.errors import HarnessError
    from session_store_harness.judging.change_points import judge_history
    from session_store_harness.model.history import HISTORY, load_history
    from session_store_harness.writers.folder import create_folder, write_bytes, write_text
    from session_store_harness.writers.history_markdown import history_markdown
    from session_store_harness.writers.history_plot import history_png
    from session_store_harness.writers.history_text import history_text

    records = [r for r in load_history(folder) if branch is None or r.branch == branch]
    if not records:
        where = "" if branch is None else f" on branch {branch}"
        raise HarnessError(f"{folder / HISTORY}: no commits recorded{where}")
    chosen = metrics or tuple(m for m in HISTORY_METRICS if m in records[-1].metrics)
    judgement = judge_history(records, chosen)
    png = history_png(judgement)
    made = create_folder(output)
    write_bytes(made / "history.png", png)
    write_text(made / "history.md", history_markdown(judgement, str(folder / HISTORY),
                                                     "history.png"))
    click.echo(history_text(judgement), nl=False)
    click.echo(f"report: {made / 'history.md'}")
