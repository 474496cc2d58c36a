"""SQLMesh's CI/CD bot on this project, end to end: what `.github/workflows/pr.yml` runs on a pull request.

`sqlmesh_cicd -p <project> github --token … run-all` runs as its own process, as in Actions, on a
scratch copy of the project that is a real git repository (prod built on its local DuckDB warehouse:
a copy of the session's sample build), checked out at a pull request's head commit. GitHub is a fake
REST server on 127.0.0.1 (tests/support/fake_github.py); what the bot did is asserted through what that server
received: the check runs and their conclusions, the comment on the pull request, and that neither the
token nor any other secret from the environment is in a request body or in the job's output.

The gateway is chosen as pr.yml chooses it: `SQLMESH__DEFAULT_GATEWAY` (the bot has no --gateway),
here `local` instead of `databricks`; the last test loads config.yaml with pr.yml's own environment
(fake values for its secrets) to check it selects the databricks gateway, and that the install step
brings what the bot imports.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import yaml

from foundation.paths import PROJECT_ROOT
from tests.support.fake_github import FakeGitHub, PullRequest, serve
from tests.support.warehouses import copy_project, copy_warehouse
from tests.support.warehouses import query as query_warehouse

BOT = Path(sys.executable).with_name("sqlmesh_cicd")
TRANSCRIPTS = PROJECT_ROOT / "artifacts" / "cicd-bot"  # what a reviewer would see (git-ignored)
OWNER, REPO = "dvd-team", "dvdrental-pipeline"
BOT_HEADER = ":robot: **SQLMesh Bot Info** :robot:"
TOKEN = "ghs_FakeInstallationToken0123456789abcdef"
# Secrets pr.yml passes to the job; none may reach GitHub or the log.
SECRETS = {
    "DATABRICKS_CLIENT_SECRET": "fake-databricks-client-secret-5f1c",
    "SQLMESH_STATE_PASSWORD": "fake-state-password-9d2e",
}
# What would render another gateway into config.yaml (pr.yml sets them; here only `local` must exist).
OTHER_GATEWAYS = ("SQLMESH_GATEWAY", "DATABRICKS_SERVER_HOSTNAME", "DATABRICKS_HTTP_PATH", "DVD_SPARK_DIR")
# The linter check is there because config.yaml turns SQLMesh's linter on (linter: enabled).
CHECKS = (
    "SQLMesh - Linter",
    "SQLMesh - Run Unit Tests",
    "SQLMesh - PR Environment Synced",
    "SQLMesh - Prod Plan Preview",
)

MODEL = "models/staging/dvd_country.sql"
MODEL_LINE = "  country, -- Country name."
CHANGED_LINE = "  UPPER(country) AS country, -- Country name."
UNIT_TEST = "tests/models/test_dvd_country.yaml"


@dataclass
class Checkout:
    """The scratch project (a git repository on `main`) and its warehouse, whose prod is `main`'s models."""

    project: Path
    warehouse: Path

    def git(self, *args: str) -> str:
        identity = ["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"]
        done = subprocess.run(["git", *identity, *args], cwd=self.project, check=True, capture_output=True, text=True)
        return done.stdout.strip()

    def branch(self, name: str, edits: list[tuple[str, str, str]]) -> str:
        """Commit ``edits`` ((path, old, new) text) on a new branch off main; leave it checked out. Its sha."""
        self.git("checkout", "-q", "-b", name, "main")
        for path, old, new in edits:
            file = self.project / path
            text = file.read_text()
            assert old in text, f"{path} no longer has {old!r}"
            file.write_text(text.replace(old, new))
        self.git("commit", "-q", "-am", f"{name}: change a staging model")
        return self.git("rev-parse", "HEAD")


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory, sample_warehouse: Path) -> Checkout:  # noqa: F811
    root = tmp_path_factory.mktemp("cicd_bot")
    repo = Checkout(copy_project(root / "project"), copy_warehouse(sample_warehouse, root / "dvdrental.duckdb"))
    repo.git("init", "-q", "-b", "main")
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "the project as prod runs it")
    return repo


@dataclass
class BotRun:
    returncode: int
    output: str  # stdout and stderr of the job
    github_output: str  # what the bot wrote to $GITHUB_OUTPUT for later steps


def run_bot(checkout: Checkout, fake: FakeGitHub, tmp_path: Path) -> BotRun:
    """`sqlmesh_cicd -p <checkout> github --token <token> run-all` on a `pull_request` "opened" event."""
    event = tmp_path / "event.json"
    # GitHub's `pull_request` webhook payload: the action, the number, the full pull request object.
    pull = fake.pull_request_json()
    event.write_text(
        json.dumps(
            {
                "action": "opened",
                "number": fake.pull.number,
                "pull_request": pull,
                "repository": pull["base"]["repo"],
                "sender": pull["user"],
            }
        )
    )
    outputs = tmp_path / "github_output"
    outputs.touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_") and k not in OTHER_GATEWAYS}
    env.update(SECRETS)
    env.update(
        GITHUB_ACTIONS="true",  # the bot only calls the check-runs API inside Actions
        GITHUB_EVENT_PATH=str(event),
        GITHUB_API_URL=fake.base_url,
        GITHUB_OUTPUT=str(outputs),
        SQLMESH__DEFAULT_GATEWAY="local",
        SQLMESH__DISABLE_ANONYMIZED_ANALYTICS="true",
        DVD_WAREHOUSE_PATH=str(checkout.warehouse),
    )
    done = subprocess.run(
        [str(BOT), "-p", str(checkout.project), "github", "--token", TOKEN, "run-all"],
        cwd=checkout.project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return BotRun(done.returncode, done.stdout + done.stderr, outputs.read_text())


def assert_no_secret_leaked(fake: FakeGitHub, run: BotRun) -> None:
    for request in fake.requests:
        assert request.headers.get("Authorization") == f"token {TOKEN}", (request.method, request.path)
        for secret in (TOKEN, *SECRETS.values()):
            assert secret not in request.body, f"{secret[:8]}… in the body of {request.method} {request.path}"
            assert secret not in request.path
    for secret in (TOKEN, *SECRETS.values()):
        assert secret not in run.output, f"{secret[:8]}… in the job's output"
        assert secret not in run.github_output


def markdown_list(summary: str, heading: str) -> list[str]:
    """The models (schema.name, without the catalog) listed under ``### heading`` of a bot summary."""
    section = re.split(r"\n### |\n<details>", summary.split(f"### {heading}\n", 1)[1], maxsplit=1)[0]
    names = re.findall(r"^- `([^`]+)`", section, flags=re.MULTILINE)
    return [".".join(name.split(".")[-2:]) for name in names]


def unit_test_names(project: Path) -> set[str]:
    names: set[str] = set()
    for file in (project / "tests").rglob("test_*.yaml"):
        names |= set(yaml.safe_load(file.read_text()))
    return names


def test_bot_builds_the_pr_environment_and_reports_the_change(
    checkout: Checkout, tmp_path: Path, pristine_dsn: str
) -> None:
    # The model changes and its unit test expects the new values (the expected output rows end in _loaded_at).
    sha = checkout.branch(
        "upper-country",
        [
            (MODEL, MODEL_LINE, CHANGED_LINE),
            (
                UNIT_TEST,
                "country: Afghanistan, last_update: '2006-02-15 09:45:25', _loaded_at",
                "country: AFGHANISTAN, last_update: '2006-02-15 09:45:25', _loaded_at",
            ),
            (
                UNIT_TEST,
                "country: Algeria, last_update: '2006-02-15 09:45:25', _loaded_at",
                "country: ALGERIA, last_update: '2006-02-15 09:45:25', _loaded_at",
            ),
        ],
    )
    pr_env = "dvdrental_pipeline_42"  # `<repository>_<number>`, sanitized

    with serve(PullRequest(OWNER, REPO, 42, "upper-country", sha), TOKEN) as fake:
        run = run_bot(checkout, fake, tmp_path)
    fake.write_transcript(TRANSCRIPTS / "pr-42.md")

    assert run.returncode == 0, run.output
    assert not fake.refused_requests(), [(r.method, r.path, r.status) for r in fake.refused_requests()]
    assert_no_secret_leaked(fake, run)

    checks = fake.final_check_runs()
    assert set(checks) == set(CHECKS)  # no approvers, no deploy: see config.yaml
    for name, check in checks.items():
        assert (check["status"], check["conclusion"]) == ("completed", "success"), (name, check["output"])
        assert check["head_sha"] == sha
    # Every check was created queued (GitHub shows it waiting until the bot gets to it), then completed.
    first_status: dict[str, str] = {}
    for state in fake.check_run_history:
        first_status.setdefault(state["name"], state["status"])
    assert first_status == {name: "queued" for name in CHECKS}

    tests = checks["SQLMesh - Run Unit Tests"]["output"]
    assert tests["title"] == "Tests Passed"
    assert f"Successfully Ran `{len(unit_test_names(checkout.project))}` Tests" in tests["summary"]

    environment = checks["SQLMesh - PR Environment Synced"]["output"]
    assert environment["title"] == f"PR Virtual Data Environment: {pr_env}"
    summary = environment["summary"]
    assert f"loaded into the PR environment `{pr_env}`" in summary
    assert markdown_list(summary, "Directly Modified") == ["staging.dvd_country"]
    indirect = set(markdown_list(summary, "Indirectly Modified"))
    assert {"silver.dvd_country", "gold.dim_address", "gold.fact_rental", "gold.report_rentals"} <= indirect
    assert all(name.startswith("gold.") or name == "silver.dvd_country" for name in indirect), indirect
    assert re.search(r"^- `(\w+\.)?staging\.dvd_country` \(Breaking\)$", summary, flags=re.MULTILINE), summary

    preview = checks["SQLMesh - Prod Plan Preview"]["output"]
    assert f"between this PR environment `{pr_env}` and `prod`" in preview["summary"]
    assert "staging.dvd_country" in preview["summary"] and "gold.report_rentals" in preview["summary"]

    # One comment on the pull request, created with the bot's header, then edited to name the environment.
    assert [c["body"] for c in fake.comments.values()] == [
        f"{BOT_HEADER}\n- :eyes: To **review** this PR's changes, use virtual data environment:\n  - `{pr_env}`"
    ]
    (comment_id,) = fake.comments
    writes = [(r.method, r.path) for r in fake.requests if r.method != "GET"]
    assert writes.count(("POST", f"{fake.repo_path}/issues/42/comments")) == 1
    assert writes.count(("PATCH", f"{fake.repo_path}/issues/comments/{comment_id}")) == 1
    for key in (
        "run_unit_tests=success",
        "pr_environment_synced=success",
        "prod_plan_preview=success",
        f"pr_environment_name={pr_env}",
    ):
        assert key in run.github_output.splitlines(), run.github_output

    # The PR environment holds the change, backfilled (skip_pr_backfill: false); prod is untouched.
    with psycopg.connect(pristine_dsn) as conn:
        countries = conn.execute("SELECT count(*) FROM country").fetchone()[0]
    pr_rows = query_warehouse(
        checkout.warehouse,
        f"SELECT count(*), count(*) FILTER (WHERE country = upper(country)) FROM silver__{pr_env}.dvd_country",
    )
    assert pr_rows == [(countries, countries)]
    prod_upper = query_warehouse(
        checkout.warehouse, "SELECT count(*) FROM silver.dvd_country WHERE country = upper(country)"
    )
    assert prod_upper[0][0] < countries


def test_failing_unit_test_fails_the_check_and_the_job(checkout: Checkout, tmp_path: Path) -> None:
    # The model changes, its unit test still expects the old values.
    sha = checkout.branch("upper-country-untested", [(MODEL, MODEL_LINE, CHANGED_LINE)])
    pr_env = "dvdrental_pipeline_43"

    with serve(PullRequest(OWNER, REPO, 43, "upper-country-untested", sha), TOKEN) as fake:
        run = run_bot(checkout, fake, tmp_path)
    fake.write_transcript(TRANSCRIPTS / "pr-43.md")

    # The bot raises CICDBotError out of the subcommand (its group's error handler does not catch it):
    # Python's traceback ending in that message, exit 1. Actions marks the job failed.
    assert run.returncode == 1, run.output
    assert run.output.rstrip().endswith(
        "CICDBotError: Linter or Unit Test(s) failed. See Pull Requests Checks for more information."
    ), run.output[-2000:]
    assert not fake.refused_requests(), [(r.method, r.path, r.status) for r in fake.refused_requests()]
    assert_no_secret_leaked(fake, run)

    checks = fake.final_check_runs()
    assert set(checks) == set(CHECKS)
    linter = checks["SQLMesh - Linter"]
    assert (linter["status"], linter["conclusion"]) == ("completed", "success"), linter["output"]
    tests = checks["SQLMesh - Run Unit Tests"]
    assert (tests["status"], tests["conclusion"]) == ("completed", "failure")
    assert tests["output"]["title"] == "Tests Failed"
    assert "test_dvd_country_keeps_newest_extract" in tests["output"]["summary"]
    for name in ("SQLMesh - PR Environment Synced", "SQLMesh - Prod Plan Preview"):
        assert (checks[name]["status"], checks[name]["conclusion"]) == ("completed", "skipped"), name
    assert "run_unit_tests=failure" in run.github_output.splitlines()

    # Nothing was built, nothing said on the pull request.
    assert not fake.comments
    schemas = {
        row[0] for row in query_warehouse(checkout.warehouse, "SELECT schema_name FROM information_schema.schemata")
    }
    assert not any(pr_env in schema for schema in schemas), schemas


def workflow_job() -> dict:
    workflow = yaml.safe_load((PROJECT_ROOT / ".github" / "workflows" / "pr.yml").read_text())
    return workflow["jobs"]["sqlmesh"]


def test_pr_workflow_selects_the_databricks_gateway_and_installs_the_bot(monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlmesh.core.config import Config
    from sqlmesh.core.config.loader import load_config_from_paths

    job = workflow_job()
    steps = {step.get("name"): step.get("run", "") for step in job["steps"]}
    assert steps["SQLMesh CI/CD bot"].split() == [
        "sqlmesh_cicd",
        "-p",
        ".",
        "github",
        "--token",
        '"${{',
        "secrets.GITHUB_TOKEN",
        '}}"',
        "run-all",
    ]
    # The bot imports PyGithub; the workflow installs the project's own dependencies only.
    assert steps["Install"].split() == ["python", "-m", "pip", "install", "-e", "."]
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    sqlmesh = next(d for d in project["dependencies"] if d.startswith("sqlmesh["))
    assert "github" in sqlmesh.split("[", 1)[1].split("]", 1)[0].split(",")

    # pr.yml's environment, each `${{ secrets.X }}` / `${{ vars.X }}` given a made-up value.
    for name in list(os.environ):
        if name.startswith(("DATABRICKS_", "SQLMESH_", "SQLMESH__", "DVD_SPARK")):
            monkeypatch.delenv(name)
    for name, value in job["env"].items():
        made_up = "5432" if name.endswith("_PORT") else f"made-up-{name.lower()}"
        monkeypatch.setenv(name, re.sub(r"\$\{\{[^}]*\}\}", made_up, str(value)))
    config = load_config_from_paths(Config, project_paths=[PROJECT_ROOT / "config.yaml"])

    assert config.default_gateway == "databricks"  # SQLMESH__DEFAULT_GATEWAY, the bot's only way to choose
    connection = config.get_connection("databricks")
    assert connection.type_ == "databricks" and connection.auth_type == "databricks-oauth"  # CLIENT_ID/SECRET given
    state = config.get_state_connection("databricks")
    assert state is not None and state.type_ == "postgres" and state.sslmode == "require"
    test_connection = config.get_gateway("databricks").test_connection
    assert test_connection is not None and test_connection.type_ == "duckdb"  # the bot's unit tests
    assert config.cicd_bot is not None and config.cicd_bot.skip_pr_backfill is False
    assert not config.cicd_bot.enable_deploy_command and config.cicd_bot.merge_method is None
