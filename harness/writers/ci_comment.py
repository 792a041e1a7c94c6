"""The pull request's comment: the verdict first, then the comparison's report, all under
GitHub's 65,536-character limit, with the hidden marker that finds it again."""

from __future__ import annotations

from session_store_harness.ci.pull_request import CiResult
from session_store_harness.writers.gate_output import gate_markdown
from session_store_harness.writers.report import comparison_report

COMMENT_LIMIT = 65_536  # GitHub refuses a longer comment body
MARGIN = 512  # room for the lines added after the report (the comment's outcome, a link)
MAX_ERROR = 2000  # of an error's text in a comment: it may quote the pull request's output


def comment_markdown(result: CiResult, hidden_marker: str, run_url: str | None = None,
                     footer: str = "") -> str:
    """The comment body; the same text goes to the step summary."""
    commits, (before, after) = result.commits, result.runs
    head = [hidden_marker, gate_markdown(result.gate, level=2),
            *(f"> ⚠️ {note}\n" for note in result.notes),
            f"Merge base `{commits.base[:12]}` ({commits.base_ref}) → head `{commits.head[:12]}`: "
            f"{len(before.measured)} and {len(after.measured)} repeats, interleaved on one "
            f"runner; store `{before.config.describe_store()}` → "
            f"`{after.config.describe_store()}`.", ""]
    tail = [f"Result folders (runs, plots, JSON): [this workflow run's artifact]({run_url})"
            if run_url else "", footer]
    room = COMMENT_LIMIT - MARGIN - sum(len(line) + 1 for line in head + tail)
    report = comparison_report(result.comparison, [], max_chars=room)
    body = "\n".join([*head, "<details open><summary>Report</summary>", "",
                      _demoted(report), "", "</details>", "", *[t for t in tail if t]])
    return body + "\n"


def _demoted(report: str) -> str:
    """The report's headings one level down, under the comment's own."""
    return "\n".join("#" + line if line.startswith("#") else line
                     for line in report.splitlines())


def error_markdown(hidden_marker: str, message: str, run_url: str | None = None) -> str:
    """The comment when there is no verdict: the runs failed or could not be compared. It
    replaces an earlier verdict, which no longer describes the head."""
    message = message if len(message) <= MAX_ERROR else message[:MAX_ERROR] + " …"
    link = (f"\n\nWhat was measured before the error is in [this workflow run's artifact]"
            f"({run_url})." if run_url else "")
    return (f"{hidden_marker}\n## Memory gate: ⚠️ no verdict\n\n"
            f"The memory check could not judge this head: {message}{link}\n")
