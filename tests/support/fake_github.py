"""A fake GitHub REST API on 127.0.0.1: the endpoints SQLMesh's CI/CD bot calls for one pull request.

SQLMesh's bot (sqlmesh/integrations/github/cicd/controller.py) talks to GitHub through PyGithub at
``GITHUB_API_URL``; this server answers what PyGithub 2.x requests there and records every request,
so a test asserts what the bot did by what GitHub would have received.

The answers are shaped after PyGithub's models (``github/PullRequest.py``, ``github/IssueComment.py``,
``github/CheckRun.py``, ``github/PullRequestReview.py`` of PyGithub/PyGithub, the attributes their
``_useAttributes`` reads) with GitHub's REST documentation for paths, methods and status codes
(docs.github.com/en/rest: "Get a pull request" 200, "List reviews for a pull request" 200,
"List issue comments" 200, "Create an issue comment" 201, "Update an issue comment" 200,
"Create a check run" 201, "Update a check run" 200; a wrong token is 401 "Bad credentials", an unknown
path 404 "Not Found", a check run or comment GitHub would refuse 422: a status or conclusion outside its
enums, "completed" without a conclusion, an output without title and summary or over 65,535
characters). Every ``url`` in an answer points back here: PyGithub follows them for edits
(``IssueComment.edit`` and ``CheckRun.edit`` PATCH ``self.url``).

What it cannot stand for: GitHub's permissions (a token's scopes, the workflow's ``permissions:``),
branch protection, rate limits, Actions' runners. It accepts what a permitted token may do.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

NOT_FOUND = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
BAD_CREDENTIALS = {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}
BOT_USER = {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}
# "Create a check run" / "Update a check run": the values GitHub accepts, and its limit on output texts.
CHECK_STATUSES = {"queued", "in_progress", "completed", "waiting", "requested", "pending"}
CHECK_CONCLUSIONS = {"action_required", "cancelled", "failure", "neutral", "success", "skipped", "stale", "timed_out"}
MAX_TEXT = 65535


def _check_run_problem(fields: dict, creating: bool) -> str | None:
    """Why GitHub would refuse these check-run fields with 422, or None."""
    if creating and not (fields.get("name") and fields.get("head_sha")):
        return "name and head_sha are required"
    if "status" in fields and fields["status"] not in CHECK_STATUSES:
        return f"status {fields['status']!r} is not one of {sorted(CHECK_STATUSES)}"
    if "conclusion" in fields and fields["conclusion"] not in CHECK_CONCLUSIONS:
        return f"conclusion {fields['conclusion']!r} is not one of {sorted(CHECK_CONCLUSIONS)}"
    if fields.get("status") == "completed" and "conclusion" not in fields:
        return "conclusion is required with a status of completed"
    if (output := fields.get("output")) is not None:
        if not (output.get("title") and output.get("summary")):
            return "output needs a title and a summary"
        if any(len(output.get(key) or "") > MAX_TEXT for key in ("summary", "text")):
            return f"output summary and text are limited to {MAX_TEXT} characters"
    return None


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: str
    status: int = 0  # what the fake answered

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class PullRequest:
    """The one pull request the fake knows: ``owner/repo#number``, ``head_ref`` at ``head_sha`` into ``base_ref``."""

    owner: str
    repo: str
    number: int
    head_ref: str
    head_sha: str
    base_ref: str = "main"
    base_sha: str = ""


@dataclass
class FakeGitHub:
    pull: PullRequest
    token: str
    base_url: str = ""
    requests: list[Request] = field(default_factory=list)
    comments: dict[int, dict] = field(default_factory=dict)
    check_runs: dict[int, dict] = field(default_factory=dict)
    check_run_history: list[dict] = field(default_factory=list)  # every state a check run went through
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1001))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def repo_path(self) -> str:
        return f"/repos/{self.pull.owner}/{self.pull.repo}"

    def pull_url(self) -> str:
        return f"{self.base_url}{self.repo_path}/pulls/{self.pull.number}"

    def refused_requests(self) -> list[Request]:
        """Requests answered with an error: no route here (404), or fields GitHub would refuse (422)."""
        return [r for r in self.requests if r.status >= 400]

    # --- answers -------------------------------------------------------------------------------

    def _repository(self) -> dict:
        return {
            "id": 1,
            "name": self.pull.repo,
            "full_name": f"{self.pull.owner}/{self.pull.repo}",
            "owner": {"login": self.pull.owner, "type": "Organization"},
            "url": f"{self.base_url}{self.repo_path}",
            "html_url": f"https://github.com/{self.pull.owner}/{self.pull.repo}",
            "default_branch": self.pull.base_ref,
        }

    def pull_request_json(self) -> dict:
        pull, url = self.pull, self.pull_url()
        ref = lambda name, sha: {  # noqa: E731 (the head and base "branch" objects are alike)
            "label": f"{pull.owner}:{name}",
            "ref": name,
            "sha": sha,
            "repo": self._repository(),
        }
        return {
            "id": 100 + pull.number,
            "number": pull.number,
            "state": "open",
            "title": "Change a staging model",
            "url": url,
            "html_url": f"https://github.com/{pull.owner}/{pull.repo}/pull/{pull.number}",
            "issue_url": f"{self.base_url}{self.repo_path}/issues/{pull.number}",
            "comments_url": f"{self.base_url}{self.repo_path}/issues/{pull.number}/comments",
            "review_comments_url": f"{url}/comments",
            "user": {"login": "a-developer", "type": "User"},
            "head": ref(pull.head_ref, pull.head_sha),
            "base": ref(pull.base_ref, pull.base_sha),
            "merged": False,
            "mergeable": True,
            "draft": False,
            "_links": {"self": {"href": url}},
        }

    def _issue(self) -> dict:
        number = self.pull.number
        url = f"{self.base_url}{self.repo_path}/issues/{number}"
        return {
            "id": 200 + number,
            "number": number,
            "state": "open",
            "title": "Change a staging model",
            "url": url,
            "comments_url": f"{url}/comments",
            "pull_request": {"url": self.pull_url()},
            "user": {"login": "a-developer", "type": "User"},
        }

    def _new_comment(self, body: str) -> dict:
        comment_id = next(self._ids)
        comment = {
            "id": comment_id,
            "url": f"{self.base_url}{self.repo_path}/issues/comments/{comment_id}",
            "html_url": f"https://github.com/{self.pull.owner}/{self.pull.repo}/pull/{self.pull.number}#issuecomment-{comment_id}",
            "issue_url": f"{self.base_url}{self.repo_path}/issues/{self.pull.number}",
            "body": body,
            "user": BOT_USER,
        }
        self.comments[comment_id] = comment
        return comment

    def _check_run(self, fields: dict, check_id: int | None = None) -> dict:
        if check_id is None:
            check_id = next(self._ids)
            run = {
                "id": check_id,
                "url": f"{self.base_url}{self.repo_path}/check-runs/{check_id}",
                "html_url": f"https://github.com/{self.pull.owner}/{self.pull.repo}/runs/{check_id}",
                "conclusion": None,
                "app": {"slug": "github-actions"},
            }
            self.check_runs[check_id] = run
        run = self.check_runs[check_id]
        run.update(fields)
        self.check_run_history.append(json.loads(json.dumps(run)))
        return run

    def answer(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        """(status, JSON) for one request; the routes the bot uses, else GitHub's 404."""
        route = path.split("?", 1)[0]
        pull = f"{self.repo_path}/pulls/{self.pull.number}"
        issue = f"{self.repo_path}/issues/{self.pull.number}"
        with self._lock:
            if method == "GET" and route == self.repo_path:
                return 200, self._repository()
            if method == "GET" and route == pull:
                return 200, self.pull_request_json()
            if method == "GET" and route == f"{pull}/reviews":
                return 200, []  # nobody has reviewed yet
            if method == "GET" and route == issue:
                return 200, self._issue()
            if method == "GET" and route == f"{issue}/comments":
                return 200, list(self.comments.values())
            if method == "POST" and route == f"{issue}/comments":
                if problem := _comment_problem(body):
                    return 422, _unprocessable(problem)
                return 201, self._new_comment(body["body"])
            if method == "PATCH" and (m := re.fullmatch(rf"{self.repo_path}/issues/comments/(\d+)", route)):
                comment = self.comments.get(int(m[1]))
                if comment is None:
                    return 404, NOT_FOUND
                if problem := _comment_problem(body):
                    return 422, _unprocessable(problem)
                comment["body"] = body["body"]
                return 200, comment
            if method == "POST" and route == f"{self.repo_path}/check-runs":
                if problem := _check_run_problem(body, creating=True):
                    return 422, _unprocessable(problem)
                return 201, self._check_run(body)
            if method == "PATCH" and (m := re.fullmatch(rf"{self.repo_path}/check-runs/(\d+)", route)):
                if int(m[1]) not in self.check_runs:
                    return 404, NOT_FOUND
                if problem := _check_run_problem(body, creating=False):
                    return 422, _unprocessable(problem)
                return 200, self._check_run(body, int(m[1]))
        return 404, NOT_FOUND

    def final_check_runs(self) -> dict[str, dict]:
        """Each check run by name, as it was left."""
        return {run["name"]: run for run in self.check_runs.values()}

    def write_transcript(self, path: Path) -> Path:
        """What a reviewer would see on the pull request, as Markdown: the checks, then the comments."""
        parts = [f"# {self.pull.owner}/{self.pull.repo}#{self.pull.number} at {self.pull.head_sha[:12]}\n"]
        for name, run in self.final_check_runs().items():
            output = run.get("output") or {}
            parts.append(
                f"## Check: {name} ({run.get('status')}, {run.get('conclusion')})\n\n"
                f"**{output.get('title', '')}**\n\n{output.get('summary', '')}\n"
            )
        for comment in self.comments.values():
            parts.append(f"## Comment by {comment['user']['login']}\n\n{comment['body']}\n")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(parts))
        return path


def _comment_problem(body: dict) -> str | None:
    text = body.get("body")
    if not isinstance(text, str) or not text:
        return "body is required"
    return f"body is limited to {MAX_TEXT + 1} characters" if len(text) > MAX_TEXT + 1 else None


def _unprocessable(problem: str) -> dict:
    return {"message": f"Invalid request.\n\n{problem}", "documentation_url": "https://docs.github.com/rest"}


def _handler(fake: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            request = Request(self.command, self.path, dict(self.headers.items()), raw)
            fake.requests.append(request)
            if self.headers.get("Authorization") != f"token {fake.token}":
                status, answer = 401, BAD_CREDENTIALS
            else:
                status, answer = fake.answer(self.command, self.path, json.loads(raw) if raw else None)
            request.status = status
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # the requests are recorded, not printed
            pass

    return Handler


@contextmanager
def serve(pull: PullRequest, token: str) -> Iterator[FakeGitHub]:
    """Run a fake GitHub for ``pull`` on a free port of 127.0.0.1 while the block runs."""
    fake = FakeGitHub(pull=pull, token=token)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
