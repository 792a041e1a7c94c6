"""GitHub, as a pull request's job sees it: the event, and one sticky comment.

The comment is found again by a hidden marker in its body, so every push updates one comment
instead of adding another. The token comes from the environment only (never an option, so it
is in no command line the harness records) and is sent to the API and nowhere else.
A fork's pull request gets a read-only token: the API answers 403, which is a fact to report
in the step summary, not a failure of the job.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

TOKEN_VARIABLE = "GITHUB_TOKEN"
API_TIMEOUT_S = 30
PAGE_SIZE = 100
MAX_PAGES = 30  # 3,000 comments: past that a pull request has other problems
MARKER_PREFIX = "session-store-harness"


def marker(key: str = "memory") -> str:
    """The hidden line that names the harness's comment (one per `key` in a pull request)."""
    return f"<!-- {MARKER_PREFIX}:{key} -->"


@dataclass(frozen=True)
class PullRequest:
    """Where the comment goes: the API, the repository and the pull request's number."""

    api_url: str
    repository: str  # owner/name
    number: int
    base_sha: str | None = None
    run_url: str | None = None  # this workflow run's page, for the artifact link


@dataclass(frozen=True)
class CommentOutcome:
    """What became of the comment: created, updated, not-allowed, failed or skipped."""

    status: str
    message: str
    url: str | None = None


def pull_request_from_env(env: dict[str, str] | None = None) -> PullRequest | None:
    """The pull request this job runs for, from GitHub's event file; None outside one."""
    env = dict(os.environ if env is None else env)
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return None
    try:
        event = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    pull = event.get("pull_request") if isinstance(event, dict) else None
    if not isinstance(pull, dict) or not isinstance(pull.get("number"), int):
        return None
    server, repo, run = (env.get("GITHUB_SERVER_URL"), env.get("GITHUB_REPOSITORY"),
                         env.get("GITHUB_RUN_ID"))
    base = pull.get("base")
    return PullRequest(
        api_url=env.get("GITHUB_API_URL", "https://api.github.com").rstrip("/"),
        repository=repo or event.get("repository", {}).get("full_name", ""),
        number=pull["number"],
        base_sha=base.get("sha") if isinstance(base, dict) else None,
        run_url=f"{server}/{repo}/actions/runs/{run}" if server and repo and run else None)


def upsert_comment(pull: PullRequest, body: str, hidden_marker: str, token: str | None,
                   author: str = "github-actions[bot]") -> CommentOutcome:
    """Update `author`'s comment holding `hidden_marker`, or create it; never raises. Only
    the author's own comments count: anyone can quote the marker in a comment of theirs."""
    if not token:
        return CommentOutcome("skipped", f"no {TOKEN_VARIABLE} in the environment: the "
                              "comment was not posted (it is in the step summary)")
    client = _Client(pull.api_url, token)
    base = f"/repos/{pull.repository}/issues"
    try:
        found = _find(client, f"{base}/{pull.number}/comments", hidden_marker, author)
        if found is None:
            made = client.call("POST", f"{base}/{pull.number}/comments", {"body": body})
            return CommentOutcome("created", "comment created", made.get("html_url"))
        done = client.call("PATCH", f"{base}/comments/{found}", {"body": body})
        return CommentOutcome("updated", "comment updated", done.get("html_url"))
    except _ApiError as exc:
        if exc.status in (401, 403, 404):
            return CommentOutcome("not-allowed", (
                f"GitHub refused the comment (HTTP {exc.status}): the token lacks "
                "`pull-requests: write` (a pull request from a fork gets a read-only token); "
                "the report is in this step summary instead"))
        return CommentOutcome("failed", f"GitHub API: {exc}")
    except (OSError, ValueError) as exc:
        return CommentOutcome("failed", f"GitHub API unreachable: {exc}")


def _find(client: _Client, path: str, hidden_marker: str, author: str) -> int | None:
    for page in range(1, MAX_PAGES + 1):
        comments = client.call("GET", f"{path}?per_page={PAGE_SIZE}&page={page}")
        if not isinstance(comments, list):
            raise ValueError("comments are not a list")
        for comment in comments:
            login = (comment.get("user") or {}).get("login")
            if login == author and hidden_marker in str(comment.get("body", "")):
                return int(comment["id"])
        if len(comments) < PAGE_SIZE:
            return None
    return None


class _ApiError(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"HTTP {status} {reason}")
        self.status = status


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect, but never carries the token to another host."""

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str,
                         headers: Any, newurl: str) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urlparse(newurl).netloc != urlparse(req.full_url).netloc:
            new.remove_header("Authorization")
        return new


_OPENER = urllib.request.build_opener(_SameHostRedirects)


@dataclass(frozen=True)
class _Client:
    api_url: str
    token: str

    def call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            self.api_url + path, data=data, method=method,
            headers={"Authorization": f"Bearer {self.token}",
                     "Accept": "application/vnd.github+json",
                     "X-GitHub-Api-Version": "2022-11-28",
                     "Content-Type": "application/json",
                     "User-Agent": "session-store-harness"})
        try:
            with _OPENER.open(request, timeout=API_TIMEOUT_S) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise _ApiError(exc.code, str(exc.reason)) from None
