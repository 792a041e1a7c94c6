"""`harness ci`: what a pull request does to memory and time, judged on one runner.

Only parses options and calls `ci/pull_request.py`; then hands the verdict to GitHub: the step
summary, annotations, and one sticky comment.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from session_store_harness.commands.options import (
    given_options,
    layout_options,
    measurement_options,
    store_shape_options,
    worker_options,
)
from session_store_harness.errors import HarnessError, exit_code_help

EPILOG = "\b\nExit codes (the gate's):\n" + exit_code_help()


@click.command(epilog=EPILOG)
@click.option("--store", "store_name", required=True,
              help="The store to measure on both sides: a name in each commit's harness.toml "
              "([tool.harness.stores.NAME]) or any --store spec, resolved in that commit's "
              "checkout.")
@click.option("--base-store", help="The base side's store, when it has another name there.")
@click.option("--base", "base_ref",
              help="The target branch or commit; the merge base of it and --head is measured "
              "(default: the pull request's base, from GitHub's event).")
@click.option("--head", "head_ref", default="HEAD", show_default=True,
              help="The commit under test.")
@click.option("--repo", type=click.Path(path_type=Path, file_okay=False), default=".",
              show_default=True, help="A folder inside the git repository.")
@click.option("--config", help="The configuration file's path inside each checkout (default: "
              "the nearest harness.toml or pyproject.toml with [tool.harness]).")
@click.option("--prepare", metavar="CMD",
              help="Run in each checkout before measuring, e.g. 'npm ci' (no shell).")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Folder to create (must not exist): ab/, compare/, gate.*, comment.md.")
@click.option("--store-file", type=click.Path(path_type=Path),
              help="Measure copies of this existing sessions.json instead of generating one.")
@store_shape_options
@worker_options
@measurement_options
@layout_options
@click.option("--max-repeat", type=int,
              help="Sequential: add ABBA blocks from --repeat a side until every gated "
              "verdict is clear, or this many a side.")
@click.option("--max-regression", help="Largest allowed significant worsening, e.g. 5% "
              "(default: the head's [gate] table).")
@click.option("--max-peak-rss-mb", type=float, help="Ceiling on the head's median peak RSS.")
@click.option("--max-growth-mb-per-cycle", type=float,
              help="Ceiling on the head's median RSS growth slope (MB/cycle).")
@click.option("--metrics", help="Metrics the regression check gates (comma-separated).")
@click.option("--allow-different", multiple=True, metavar="KEY",
              help="A setup difference between the sides that is intended (see harness gate).")
@click.option("--comment", type=click.Choice(["auto", "never"]), default="auto",
              show_default=True, help="auto: in a pull request's job with GITHUB_TOKEN set, "
              "create or update the one comment carrying --comment-key's marker.")
@click.option("--comment-key", default="memory", show_default=True,
              help="Names the sticky comment: one per key in a pull request.")
@click.option("--comment-author", default="github-actions[bot]", show_default=True,
              help="The login that posts the comment (the token's): only its comments are "
              "taken as the sticky one, whoever else quotes the marker.")
def ci(store_name: str, base_store: str | None, base_ref: str | None, head_ref: str,
       repo: Path, config: str | None, prepare: str | None, output: Path,
       layout_seed: int | None, fixed_layout: bool, max_repeat: int | None,
       max_regression: str | None, max_peak_rss_mb: float | None,
       max_growth_mb_per_cycle: float | None, metrics: str | None,
       allow_different: tuple[str, ...], comment: str, comment_key: str, comment_author: str,
       **values: Any) -> None:
    """Measure a pull request's merge base and head interleaved on this machine, compare,
    gate, and post the report (step summary, annotations, one sticky PR comment)."""
    from session_store_harness.ci.checkout import prepare_argv
    from session_store_harness.ci.github import TOKEN_VARIABLE, marker, pull_request_from_env
    from session_store_harness.ci.pull_request import CiPlan, run_ci
    from session_store_harness.measuring.measure import resolve_layout_seed
    from session_store_harness.writers.ci_comment import comment_markdown, error_markdown

    # Taken out of the environment before anything runs: the head's store code, its workers
    # and --prepare are the pull request's code, and must not inherit a token that can write.
    token = os.environ.pop(TOKEN_VARIABLE, None)
    pull = pull_request_from_env()
    base_ref = base_ref or (pull.base_sha if pull else None)
    if not base_ref:
        raise HarnessError("--base is needed outside a pull request's job (no base commit in "
                           "GitHub's event)")
    given = given_options() & set(values)
    plan = CiPlan(
        repo=repo, base_ref=base_ref, head_ref=head_ref, store=store_name,
        base_store=base_store, output=output, config=config, values=values, given=given,
        prepare=prepare_argv(prepare) if prepare else (), max_repeat=max_repeat,
        layout_seed=None if fixed_layout else resolve_layout_seed(layout_seed),
        gate={"max_regression": max_regression, "max_peak_rss_mb": max_peak_rss_mb,
              "max_growth_mb_per_cycle": max_growth_mb_per_cycle, "metrics": metrics,
              "allow_different": allow_different or None})
    hidden = marker(comment_key)
    run_url = pull.run_url if pull else None
    poster = Poster(pull, hidden, token, comment_author) if comment == "auto" else None
    try:
        result = run_ci(plan, tuple(sys.argv))
    except HarnessError as exc:
        _no_verdict(error_markdown(hidden, str(exc), run_url), poster)
        raise
    body = comment_markdown(result, hidden, run_url)
    posted = poster.post(body) if poster else None
    if posted is not None and posted.status not in ("created", "updated"):
        body = comment_markdown(result, hidden, run_url, footer=f"> ℹ️ {posted.message}")
    _write(result.folder / "comment.md", body)
    with contextlib.suppress(OSError):
        click.echo(_console(result, posted))
    _github(body, result)
    sys.exit(result.exit_code)


def _no_verdict(body: str, poster: Poster | None) -> None:
    """Runs that failed or could not be compared still reach the pull request: the old verdict
    would otherwise stand beside a head it no longer describes."""
    posted = poster.post(body) if poster else None
    if posted is not None and posted.status not in ("created", "updated", "skipped"):
        click.echo(f"[ci] comment: {posted.status}: {posted.message}", err=True)
    _summary(body)


@dataclass(frozen=True)
class Poster:
    """Where the sticky comment goes, and with what."""

    pull: Any
    hidden: str
    token: str | None
    author: str

    def post(self, body: str) -> Any:
        from session_store_harness.ci.github import CommentOutcome, upsert_comment

        if self.pull is None:
            return CommentOutcome("skipped", "not a pull request's job: no comment posted")
        return upsert_comment(self.pull, body, self.hidden, self.token, self.author)


def _write(path: Path, text: str) -> None:
    from session_store_harness.writers.folder import write_text

    write_text(path, text)


def _console(result: Any, posted: Any) -> str:
    from session_store_harness.writers.gate_output import gate_text

    lines = [f"[ci] merge base {result.commits.base[:12]} -> head {result.commits.head[:12]}",
             gate_text(result.gate).rstrip("\n")]
    if posted is not None:
        lines.append(f"[ci] comment: {posted.status}: {posted.message}"
                     + (f" ({posted.url})" if posted.url else ""))
    lines.append(f"[ci] results: {result.folder} (comment body: "
                 f"{result.folder / 'comment.md'})")
    return "\n".join(lines)


def _summary(body: str) -> None:
    from session_store_harness.writers.github import append_step_summary, summary_path

    path = summary_path()
    warning = append_step_summary(path, body) if path else None
    if warning:
        click.echo(warning, err=True)


def _github(body: str, result: Any) -> None:
    """In GitHub Actions: the comment's text as the step summary, and annotations."""
    from session_store_harness.writers.gate_output import github_annotations
    from session_store_harness.writers.github import in_github_actions

    _summary(body)
    annotations = github_annotations(result.gate) if in_github_actions() else ""
    if annotations:
        click.echo(annotations)
