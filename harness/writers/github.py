"""GitHub Actions output shared by the commands that judge (`gate`, `check-memory`): workflow
command annotations and the job's step summary.

GitHub reads `::error title=T::message` lines on a step's output as annotations on the workflow
run, and appends whatever a step writes to the file named by `GITHUB_STEP_SUMMARY` to the job's
summary page ("Workflow commands for GitHub Actions" in GitHub's documentation).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

SUMMARY_VARIABLE = "GITHUB_STEP_SUMMARY"


def annotation(kind: str, title: str, message: str) -> str:
    """One workflow command line: `kind` is error, warning or notice."""
    return f"::{kind} title={escape_property(title)}::{escape(message)}"


def escape(message: str) -> str:
    # GitHub reads %, CR and LF in a workflow command's message as escapes and line ends
    return message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """A property's value (the title) also ends at `:` and `,`."""
    return escape(value).replace(":", "%3A").replace(",", "%2C")


def in_github_actions(environ: Mapping[str, str] | None = None) -> bool:
    """GitHub sets GITHUB_ACTIONS=true in every step it runs."""
    return (os.environ if environ is None else environ).get("GITHUB_ACTIONS") == "true"


def summary_path(environ: Mapping[str, str] | None = None) -> str | None:
    return (os.environ if environ is None else environ).get(SUMMARY_VARIABLE) or None


def append_step_summary(path: str, markdown: str) -> str | None:
    """Append `markdown` to the step summary file; a file that cannot be written gives back a
    one-line warning instead of an error: the verdict, not the job page, decides the exit
    code."""
    try:
        with open(path, "a", encoding="utf-8") as summary:
            summary.write(markdown if markdown.endswith("\n") else markdown + "\n")
    except OSError as exc:
        return (f"harness: warning: cannot write the GitHub step summary {path} "
                f"({exc.strerror or exc})")
    return None
