"""The daily run's janitor removes a pull request's environment once it has expired (docs/operations.md:
"the PR environment expires after a week (`environment_ttl`) and the daily run's janitor drops it").

A PR environment is built as SQLMesh's CI/CD bot builds one (a plan of `pr_123` with a changed model,
backfilled), then it is aged past its expiry in SQLMesh's state, and `dvdrental daily` runs on the
project as it is: the environment's schemas and its state record are gone, prod serves as before.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from foundation.paths import PROJECT_ROOT
from tests.support.warehouses import copy_project, copy_warehouse, query, sqlmesh_context

DVDRENTAL = str(Path(sys.executable).with_name("dvdrental"))
PR = "pr_123"
SCHEMAS = "SELECT schema_name FROM duckdb_schemas() WHERE schema_name LIKE '%__pr_123' ORDER BY 1"


def _pr_environment(warehouse: Path, tmp_path: Path) -> None:
    """`pr_123` with gold.report_rentals changed (a new column), built in its own schemas."""
    project = copy_project(tmp_path / "project")
    report = project / "models" / "gold" / "report_rentals.sql"
    anchor = "  rental.returned_at, -- When it was returned; NULL while not returned.\n"
    assert anchor in report.read_text()
    report.write_text(
        report.read_text().replace(anchor, "  HOUR(rental.rental_at) AS rental_hour, -- Hour.\n" + anchor)
    )
    with sqlmesh_context(warehouse, project=project) as ctx:
        ctx.plan(PR, auto_apply=True, no_prompts=True, skip_tests=True)


def test_an_expired_pr_environment_is_dropped_by_the_daily_run(
    sample_warehouse: Path, pristine_dsn: str, tmp_path: Path
) -> None:
    warehouse = copy_warehouse(sample_warehouse, tmp_path / "warehouse" / "dvdrental.duckdb")
    _pr_environment(warehouse, tmp_path)
    assert query(warehouse, SCHEMAS) == [("gold__pr_123",)]  # only the changed model's layer gets a schema
    [(expires,)] = query(warehouse, "SELECT expiration_ts FROM sqlmesh._environments WHERE name = ?", [PR])
    week = datetime.fromtimestamp(expires / 1000, UTC) - datetime.now(UTC)
    assert timedelta(days=6) < week <= timedelta(days=7), week  # environment_ttl: a week (from the plan's day)
    answers_before = query(warehouse, "SELECT * FROM gold.report_rentals ORDER BY ALL")

    with duckdb.connect(str(warehouse)) as con:  # a week and a minute later
        con.execute(
            "UPDATE sqlmesh._environments SET expiration_ts = ? WHERE name = ?", [expires - 7 * 86_400_000 - 60_000, PR]
        )

    env = dict(os.environ)
    env.update(
        DVD_SOURCE_DSN=pristine_dsn,  # the daily run only reads the source
        DVD_WAREHOUSE_PATH=str(warehouse),
        DVD_LOG_DIR=str(tmp_path / "logs"),
        DVD_INGEST_VIA="direct",
        SQLMESH__DISABLE_ANONYMIZED_ANALYTICS="true",
    )
    done = subprocess.run([DVDRENTAL, "daily"], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "janitor" in done.stdout and "warning" not in done.stdout.lower()

    assert query(warehouse, SCHEMAS) == []
    assert query(warehouse, "SELECT count(*) FROM sqlmesh._environments WHERE name = ?", [PR]) == [(0,)]
    assert query(warehouse, "SELECT * FROM gold.report_rentals ORDER BY ALL") == answers_before  # prod as before
