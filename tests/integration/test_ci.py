"""`harness ci` end to end: a scratch git repository with two commits, measured interleaved,
gated, and its comment posted to a GitHub API served on loopback by this test."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from session_store_harness.ci.github import PullRequest, marker, upsert_comment
from session_store_harness.writers.ci_comment import COMMENT_LIMIT
from tests.conftest import assert_one_line_error, run_cli

TOKEN = "ghs_test_token_that_must_never_be_written_0123456789"
WORKLOAD = """profile = "pr"
target_kb = 100
cycles = 6
sample_every = 3
repeat = 5
"""


PROBE_STORE = '''import os
from pathlib import Path

from session_store_harness.stores.ballast import BallastStore


class Probe(BallastStore):
    def __init__(self, path, env=None):
        super().__init__(path, env)
        Path(os.environ["PROBE_OUT"]).write_text(repr(os.environ.get("GITHUB_TOKEN")))
'''


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def commit_config(repo: Path, store_table: str, message: str, threshold: str = "5%") -> str:
    # in a subfolder: the checkouts are entered where the command ran, as a job's
    # working-directory is
    (repo / "app").mkdir(exist_ok=True)
    (repo / "app" / "harness.toml").write_text(
        f"{WORKLOAD}\n[stores.app]\n{store_table}\n[gate]\nmax_regression = \"{threshold}\"\n"
        "metrics = [\"rss_steady_mb\", \"peak_rss_mb\"]\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """main: `wholefile`; branch feature: `snapshot` with reuse; branch leak: 4 MB more."""
    root = tmp_path_factory.mktemp("ci-repo") / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "ci@example.invalid")
    git(root, "config", "user.name", "ci test")
    base = commit_config(root, 'store = "wholefile"', "before")
    git(root, "checkout", "-q", "-b", "feature")
    feature = commit_config(root, 'store = "snapshot"\nreuse_loaded_store = true', "after")
    git(root, "checkout", "-q", "-b", "leak", "main")
    # a store holding 4 MB more, which also writes down whether it can see the token, in a
    # head that loosens the gate it is judged by
    (root / "app" / "probe_store.py").write_text(PROBE_STORE)
    probe = root.parent / "probe.txt"
    leak = commit_config(root, 'store = "probe_store.py:Probe"\n'
                         f'env = {{ HARNESS_BALLAST_MB = "4", PROBE_OUT = "{probe}" }}', "leak",
                         threshold="500%")
    git(root, "checkout", "-q", "-b", "broken", "main")
    commit_config(root, 'store = "missing.py:Store"', "a store file that is not there")
    git(root, "checkout", "-q", "feature")
    return {"path": root, "base": base, "feature": feature, "leak": leak, "probe": probe}


class FakeGitHub(BaseHTTPRequestHandler):
    """The three calls the sticky comment needs, with the answers GitHub gives."""

    comments: list[dict[str, Any]]
    requests: list[tuple[str, str, str]]
    refuse: bool = False

    def _answer(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _record(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        payload = json.loads(self.rfile.read(length) or b"{}")
        self.requests.append((self.command, self.path, self.headers["Authorization"]))
        return payload

    def do_GET(self) -> None:
        self._record()
        page = int(self.path.rpartition("page=")[2])
        self._answer(200, self.comments[(page - 1) * 100:page * 100])

    def do_POST(self) -> None:
        payload = self._record()
        if self.refuse:
            self._answer(403, {"message": "Resource not accessible by integration"})
            return
        comment = {"id": 1000 + len(self.comments), "body": payload["body"],
                   "user": {"login": "github-actions[bot]", "type": "Bot"},
                   "html_url": f"https://github.invalid/c/{len(self.comments)}"}
        self.comments.append(comment)
        self._answer(201, comment)

    def do_PATCH(self) -> None:
        payload = self._record()
        wanted = int(self.path.rsplit("/", 1)[1])
        comment = next(c for c in self.comments if c["id"] == wanted)
        comment["body"] = payload["body"]
        self._answer(200, comment)

    def log_message(self, *args: Any) -> None:  # keep the test's output clean
        pass


@pytest.fixture
def github() -> Iterator[type[FakeGitHub]]:
    # 120 comments by others first: the marker must be looked for past the first page; one
    # of them quotes the marker, and must not be taken for the harness's comment
    others = [{"id": i, "body": f"comment {i}", "user": {"login": "someone", "type": "User"}}
              for i in range(120)]
    others[110]["body"] = f"look: {marker('memory')} pass!"
    handler = type("Handler", (FakeGitHub,), {
        "comments": others, "requests": [], "refuse": False})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()


def actions_env(tmp_path: Path, api: str, base_sha: str) -> dict[str, str]:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7, "base": {"sha": base_sha}}}))
    return {**os.environ, "GITHUB_ACTIONS": "true", "GITHUB_EVENT_PATH": str(event),
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"), "GITHUB_API_URL": api,
            "GITHUB_REPOSITORY": "octo/app", "GITHUB_SERVER_URL": "https://github.invalid",
            "GITHUB_RUN_ID": "42", "GITHUB_TOKEN": TOKEN}


def test_a_pull_request_is_measured_gated_and_commented_once(
        repo: dict[str, Any], github: type[FakeGitHub], tmp_path: Path) -> None:
    # GIVEN a pull request from `feature` (snapshot + reuse) onto main (wholefile)
    env = actions_env(tmp_path, github.url, repo["base"])  # type: ignore[attr-defined]
    out = tmp_path / "out"
    # WHEN the action's command runs in the head's checkout
    result = run_cli("ci", "--store", "app", "--repo", str(repo["path"] / "app"), "-o",
                     str(out), env=env)
    # THEN its exit code is the gate's, and the gate judged the merge base against the head
    gate = json.loads((out / "gate.json").read_text())
    assert result.returncode == gate["exit_code"], result.stdout + result.stderr
    assert gate["stores"] == {"candidate": "snapshot (built-in, python) + reuse",
                              "baseline": "wholefile (built-in, python)"}
    facts = json.loads((out / "ci.json").read_text())
    assert (facts["merge_base"], facts["head"]) == (repo["base"], repo["feature"])
    assert facts["repeats"] == {"before": 5, "after": 5}
    order = json.loads((out / "ab" / "ab.json").read_text())["sequence"]
    assert "".join("A" if s == "before" else "B" for s in order) == "ABBAABBAAB"
    # the comment: marker, verdict, table, Mermaid chart, under GitHub's limit
    body = (out / "comment.md").read_text()
    assert body.startswith(marker("memory") + "\n")
    icon = {"pass": "✅", "fail": "❌", "inconclusive": "⚠️"}[gate["outcome"]]
    assert f"## Memory gate: {icon} {gate['outcome']}" in body
    assert "| steady RSS (median, 2nd half) regression |" in body
    assert "```mermaid\n%%{init:" in body and "xychart-beta" in body
    assert body.count("\n    line [") == 2 and "_blue: before, orange: after" in body
    assert f"Merge base `{repo['base'][:12]}` (" in body
    assert "(https://github.invalid/octo/app/actions/runs/42)" in body
    assert len(body) < COMMENT_LIMIT
    # posted once, to the pull request's comments, with the token, and the summary holds it
    posts = [r for r in github.requests if r[0] == "POST"]
    assert [(m, p) for m, p, _ in posts] == [("POST", "/repos/octo/app/issues/7/comments")]
    assert posts[0][2] == f"Bearer {TOKEN}"
    assert github.comments[-1]["body"] == body
    assert (tmp_path / "summary.md").read_text() == body
    assert "[ci] comment: created: comment created" in result.stdout
    # the scratch checkouts are gone, and no file the harness wrote holds the token
    assert git(repo["path"], "worktree", "list").count("\n") == 0
    for path in out.rglob("*"):
        assert path.is_dir() or TOKEN.encode() not in path.read_bytes(), path
    # AND a second push updates that comment instead of adding one
    pull = PullRequest(api_url=github.url, repository="octo/app", number=7)  # type: ignore
    again = upsert_comment(pull, body + "again", marker("memory"), TOKEN)
    assert again.status == "updated"
    assert [c["id"] for c in github.comments if marker("memory") in c["body"]
            and c["user"]["login"] == "github-actions[bot]"] == [github.comments[-1]["id"]]
    assert github.comments[-1]["body"].endswith("again")
    assert github.comments[110]["body"].endswith("pass!")  # someone else's: untouched


def test_a_regression_fails_and_a_read_only_token_is_reported_not_fatal(
        repo: dict[str, Any], github: type[FakeGitHub], tmp_path: Path) -> None:
    # GIVEN a pull request (as from a fork: the API refuses to write) that holds 4 MB more
    github.refuse = True
    env = actions_env(tmp_path, github.url, repo["base"])  # type: ignore[attr-defined]
    out = tmp_path / "out"
    result = run_cli("ci", "--store", "app", "--base-store", "app", "--head", "leak",
                     "--repo", str(repo["path"] / "app"), "-o", str(out), env=env)
    # THEN the gate fails (exit 1) by the merge base's 5%, not the head's 500%, and says so
    assert result.returncode == 1, result.stdout + result.stderr
    assert "(limit +5.0%) fail" in result.stdout
    assert "the head changes the [gate] table; the merge base's judged it" in \
        (out / "comment.md").read_text()
    # the pull request's code ran without the token
    assert repo["probe"].read_text() == "None"
    assert "::error title=memory gate::steady RSS (median, 2nd half) regression" in \
        result.stdout
    assert "[ci] comment: not-allowed: GitHub refused the comment (HTTP 403)" in result.stdout
    summary = (tmp_path / "summary.md").read_text()
    assert "## Memory gate: ❌ fail" in summary
    assert "`pull-requests: write`" in summary and "fork" in summary
    assert "Traceback" not in result.stderr


def test_a_head_that_cannot_be_measured_gets_a_no_verdict_comment(
        repo: dict[str, Any], github: type[FakeGitHub], tmp_path: Path) -> None:
    env = actions_env(tmp_path, github.url, repo["base"])  # type: ignore[attr-defined]
    out = tmp_path / "out"
    result = run_cli("ci", "--store", "app", "--head", "broken", "--repo",
                     str(repo["path"] / "app"), "-o", str(out), env=env)
    assert_one_line_error(result, 2, "missing.py")
    assert not out.exists()  # nothing was measured: no empty result folder
    # the pull request hears of it: an earlier verdict must not stand for this head
    assert github.comments[-1]["body"].startswith(marker("memory") + "\n## Memory gate: ⚠️ "
                                                  "no verdict")
    assert "missing.py" in (tmp_path / "summary.md").read_text()
    assert git(repo["path"], "worktree", "list").count("\n") == 0


@pytest.mark.parametrize(("args", "message"), [
    (("--base", "no-such-branch"), "'no-such-branch' names no commit in "),
    (("--base", "main", "--prepare", "'unclosed"), "--prepare \"'unclosed\": No closing quotation"),
    ((), "--base is needed outside a pull request's job"),
])
def test_bad_refs_are_one_line_errors_and_leave_no_folder(
        repo: dict[str, Any], tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    result = run_cli("ci", "--store", "app", "--repo", str(repo["path"] / "app"), *args,
                     "-o", str(tmp_path / "out"), env=env)
    assert_one_line_error(result, 2, message)
    assert not (tmp_path / "out").exists()


def test_outside_a_repository_is_a_one_line_error(tmp_path: Path) -> None:
    result = run_cli("ci", "--store", "wholefile", "--base", "main", "--repo", str(tmp_path),
                     "-o", str(tmp_path / "out"))
    assert_one_line_error(result, 2, "not inside a git repository")
