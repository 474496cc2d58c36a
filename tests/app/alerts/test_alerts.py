"""Every failure reaches a person; housekeeping never blocks the data (issue 22, docs/operations.md).

Real receivers on 127.0.0.1 (tests/support/receivers.py): a Slack incoming webhook and an SMTP server
over TLS with a login, set up through the DVD_ALERT_* variables exactly as a team would. The runs are
``dvdrental daily`` (and a bare ``sqlmesh run``) in processes of their own:

* a broken load: SQLMesh's audit failure reaches Slack, the on-call mailbox and the guard model's
  owner; the daily run's own message names the step, the table, the run id and the log file;
* the same with every receiver failing (HTTP 500, SMTP 550, a closed port): the run ends exactly
  as without alerts, and the log says what was not delivered;
* an ingest failure and a held lock are sent too, and no secret travels;
* a drop the janitor cannot do: the data is refreshed, the run exits 0 with a warning in its
  summary, its log and an alert; a bare ``sqlmesh run`` (janitor first) refreshes too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from dvdrental.warehouse.lock import lock_path, pipeline_lock
from foundation.paths import PROJECT_ROOT
from ingest.source.server import free_port
from tests.support.receivers import SMTP_PASSWORD, WEBHOOK_PATH, Mailbox, SlackWebhook
from tests.support.warehouses import copy_project, copy_warehouse, query, sqlmesh_context

DVDRENTAL = str(Path(sys.executable).with_name("dvdrental"))
ONCALL = "oncall@example.com"
OWNER = "data-engineering@example.com"  # owner of staging.bronze_loads, the broken-load guard


def _at(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%d 01:00:00")


def _env(warehouse: Path, logs: Path, source_dsn: str, **alerts: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DVD_ALERT_", "AIRBYTE_", "DATABRICKS_"))}
    env.update(
        DVD_SOURCE_DSN=source_dsn,
        DVD_WAREHOUSE_PATH=str(warehouse),
        DVD_LOG_DIR=str(logs),
        DVD_INGEST_VIA="direct",
        SQLMESH__DISABLE_ANONYMIZED_ANALYTICS="true",
        **alerts,
    )
    return env


def _daily(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [DVDRENTAL, "daily", *args], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600
    )


def _log_of(done: subprocess.CompletedProcess) -> tuple[str, Path]:
    """The run id and log file the run printed in its first line."""
    found = re.search(r"log: (\S+daily_(\d{8}T\d+Z)\.log)\)", done.stdout + done.stderr)
    assert found, done.stdout + done.stderr
    return found.group(2), Path(found.group(1))


def _no_secret(*texts: str) -> None:
    for text in texts:
        assert SMTP_PASSWORD not in text and WEBHOOK_PATH.rsplit("/", 1)[1] not in text


@pytest.fixture
def broken_source(source_db: str) -> str:
    """A source that lost half its rentals at once: the broken-load guard refuses such a load."""
    with psycopg.connect(source_db, autocommit=True) as conn:
        conn.execute("DELETE FROM payment WHERE rental_id % 2 = 0")
        conn.execute("DELETE FROM rental WHERE rental_id % 2 = 0")
    return source_db


def test_a_broken_load_reaches_slack_the_mailbox_and_the_owner_and_dead_receivers_change_nothing(
    sample_warehouse: Path, broken_source: str, tmp_path: Path
) -> None:
    warehouse = copy_warehouse(sample_warehouse, tmp_path / "warehouse" / "dvdrental.duckdb")
    with SlackWebhook() as slack, Mailbox(tmp_path / "certs") as mailbox:
        env = _env(
            warehouse,
            tmp_path / "logs",
            broken_source,
            DVD_ALERT_SLACK_WEBHOOK_URL=slack.url,
            DVD_ALERT_EMAIL_DATA_ENGINEERING=OWNER,
            **mailbox.env(ONCALL),
        )
        done = _daily(env, "--execution-time", _at(1))
        assert done.returncode == 12, done.stdout + done.stderr
        run_id, log_file = _log_of(done)

        # SQLMesh's audit failure (the guard model, its audit) and the daily run's own message.
        texts = slack.texts()
        audit = [text for text in texts if "Audit failure" in text]
        daily = [text for text in texts if "dvdrental daily FAILED" in text]
        assert len(audit) == 1 and "load_is_complete" in audit[0] and "bronze_loads" in audit[0], texts
        assert len(daily) == 1, texts
        assert "at step transform" in daily[0] and "bronze.raw_dvd_rental" in daily[0], daily[0]
        assert f"run: {run_id}" in daily[0] and f"log: {log_file}" in daily[0], daily[0]
        assert "DVD_ACCEPT_MASS_DELETION=rental:" in daily[0]  # what to do is in the message
        # The same two reach the on-call mailbox; the guard model's owner gets the audit failure.
        oncall = [m.get_content() for m in mailbox.to(ONCALL)]
        assert (
            sum("Audit failure" in m for m in oncall) == 1 and sum("dvdrental daily FAILED" in m for m in oncall) == 1
        )
        owner = [m.get_content() for m in mailbox.to(OWNER)]
        assert len(owner) == 1 and "Audit failure" in owner[0] and "load_is_complete" in owner[0], owner
        _no_secret(*texts, *oncall, *owner, log_file.read_text())
        print("captured Slack message:\n" + daily[0])

        # Every receiver fails now: Slack answers 500, the mailbox refuses, and one more is closed.
        slack.status, mailbox.reject = 500, True
        before = len(slack.posts)
        dead = _daily({**env, "DVD_ALERT_EMAIL_DATA_ENGINEERING": OWNER}, "--execution-time", _at(1))
        assert len(slack.posts) > before  # they were tried
    quiet = _daily(
        _env(warehouse, tmp_path / "logs-quiet", broken_source), "--execution-time", _at(1)
    )  # no alerts configured at all
    assert dead.returncode == quiet.returncode == 12, dead.stderr
    error_line = [line for line in dead.stderr.splitlines() if line.startswith("error: ")]
    assert error_line == [line for line in quiet.stderr.splitlines() if line.startswith("error: ")]
    _, dead_log = _log_of(dead)
    undelivered = dead_log.read_text()
    assert "alert not delivered (slack_webhook target): the Slack webhook answered HTTP 500" in undelivered
    assert "alert not delivered (smtp target)" in undelivered and "Traceback" not in dead.stderr


def test_ingest_failure_and_a_held_lock_are_sent_without_secrets(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse" / "dvdrental.duckdb"
    secret = "pw-never-in-an-alert-7f3a"
    closed = f"postgresql://dvdrental:{secret}@127.0.0.1:{free_port()}/dvdrental?connect_timeout=2"
    with SlackWebhook() as slack:
        env = _env(warehouse, tmp_path / "logs", closed, DVD_ALERT_SLACK_WEBHOOK_URL=slack.url)
        done = _daily(env)
        assert done.returncode == 3, done.stderr
        run_id, log_file = _log_of(done)
        [text] = slack.texts()
        assert "dvdrental daily FAILED at step ingest" in text and f"run: {run_id}" in text, text
        assert f"log: {log_file}" in text and "is the server running" in text, text
        assert secret not in text and secret not in log_file.read_text()

        with pipeline_lock(lock_path(warehouse), purpose="a stuck run"):
            held = _daily(env)
        assert held.returncode == 75, held.stderr
        lock_text = slack.texts()[-1]
        assert len(slack.posts) == 2 and "at step lock" in lock_text and "a stuck run" in lock_text, lock_text
        assert "log: none (the run was refused before it started)" in lock_text


# `sqlmesh run` as cron calls it, through SQLMesh alone: the janitor runs first, before the models.
BARE_RUN = """
import sys
from sqlmesh import Context
status = Context(paths=[sys.argv[1]]).run("prod", execution_time=sys.argv[2], end=sys.argv[2])
print("run status:", status)
sys.exit(1 if status.is_failure else 0)
"""


def _break_an_expired_snapshot(warehouse: Path, tmp_path: Path) -> str:
    """A table the janitor must drop but cannot: a PR's model version, expired, changed by hand.

    A dev plan of a changed model makes a new physical table; the environment is then invalidated
    and its snapshot dated a TTL back (what a week without the PR does), and the table replaced by a
    view of the same name, as someone might do by hand: ``DROP TABLE`` on it fails in DuckDB
    ("is of type View"), the way a drop the service principal may not do fails on Databricks.
    """
    import duckdb

    project = copy_project(tmp_path / "project")
    report = project / "models" / "gold" / "report_rentals.sql"
    anchor = "  rental.returned_at, -- When it was returned; NULL while not returned.\n"
    assert anchor in report.read_text()
    report.write_text(
        report.read_text().replace(anchor, "  HOUR(rental.rental_at) AS rental_hour, -- Hour.\n" + anchor)
    )
    tables = "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'sqlmesh__gold'"
    before = set(query(warehouse, tables))
    with sqlmesh_context(warehouse, project=project) as ctx:
        ctx.plan("dev", auto_apply=True, no_prompts=True, skip_tests=True)
        ctx.invalidate_environment("dev")
    [(table,)] = set(query(warehouse, tables)) - before
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "UPDATE sqlmesh._snapshots SET updated_ts = 0"
            " WHERE name LIKE '%report_rentals%' AND ? LIKE '%' || version || '%'",
            [table],
        )
        con.execute(f"DROP TABLE sqlmesh__gold.{table}")
        con.execute(f"CREATE VIEW sqlmesh__gold.{table} AS SELECT 1 AS changed_by_hand")
    return table


def _served_until(warehouse: Path) -> datetime:
    [(newest,)] = query(warehouse, "SELECT max(rental_at) FROM gold.fact_rental")
    return newest


def test_a_failed_drop_is_a_warning_after_the_data_is_refreshed(
    sample_warehouse: Path, source_db: str, tmp_path: Path
) -> None:
    warehouse = copy_warehouse(sample_warehouse, tmp_path / "warehouse" / "dvdrental.duckdb")
    stuck = _break_an_expired_snapshot(warehouse, tmp_path)
    # A rental of today in the source: the refresh must bring it to gold despite the janitor.
    with psycopg.connect(source_db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO rental (rental_date, inventory_id, customer_id, staff_id)"
            " VALUES (now() - interval '1 hour', 1, 1, 1)"
        )
    before = _served_until(warehouse)

    with SlackWebhook() as slack:
        env = _env(warehouse, tmp_path / "logs", source_db, DVD_ALERT_SLACK_WEBHOOK_URL=slack.url)
        done = _daily(env, "--execution-time", _at(1))
        assert done.returncode == 0, done.stdout + done.stderr
        assert "daily ok:" in done.stdout and "housekeeping WARNING (see the log)" in done.stdout, done.stdout
        assert _served_until(warehouse) > before, "the data was not refreshed"
        run_id, log_file = _log_of(done)
        log = log_file.read_text()
        assert "warning: housekeeping failed, the data is refreshed all the same" in log and stuck in log
        [text] = slack.texts()
        assert "dvdrental daily finished with a WARNING at step janitor" in text and stuck in text, text
        assert f"run: {run_id}" in text and "The data was refreshed" in text

    # The environment stays in the state, so the next pass retries it; a bare `sqlmesh run`
    # (janitor first) warns and refreshes as well.
    bare = subprocess.run(
        [sys.executable, "-c", BARE_RUN, str(PROJECT_ROOT), _at(2)],
        cwd=PROJECT_ROOT,
        env={**env, "DVD_ALERT_SLACK_WEBHOOK_URL": ""},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert bare.returncode == 0 and "run status: CompletionStatus.SUCCESS" in bare.stdout, bare.stdout + bare.stderr
    assert "Janitor completed with failures" in bare.stderr and stuck in bare.stderr
