"""A load that reports success but is broken never reaches gold (issue 21).

Bronze is changed the way a broken Airbyte sync leaves it (half a table, an empty table, a value
nulled with a note in ``_airbyte_meta``, a column gone or retyped) after a "successful" load, then
the daily transform runs: ``sqlmesh run`` bare (as cron may call it), the in-process transform the
daily run uses, or ``dvdrental daily --via airbyte`` against the fake Airbyte (which reports the
sync succeeded and leaves bronze as it is). Each must stop before any staging table is written,
with one line naming the table, and leave every silver and gold table as it was; a real deletion of
a few rows and the next good load then flow through, gold equal to plain SQL on the source.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import typing as t
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from dvdrental.reports.answers import QUESTIONS, answers_from_duckdb
from dvdrental.warehouse import context as transform
from foundation.errors import BrokenLoadError, SchemaDriftError
from foundation.paths import PROJECT_ROOT
from ingest.bronze import load_bronze
from tests.support.answers import assert_answer_matches, source_answer
from tests.support.fake_airbyte import FakeAirbyte, airbyte_env
from tests.support.warehouses import copy_warehouse, prod_state, query, stored_per_row, warehouse_env

SAMPLE_RENTALS = 16044


def _at(days: int) -> str:
    """An execution time ``days`` ahead: the next daily intervals are due then."""
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%d 01:00:00")


def _bronze(path: Path, *statements: str) -> None:
    import duckdb

    with duckdb.connect(str(path)) as con:
        for statement in statements:
            con.execute(statement)


def _run(path: Path, days: int) -> None:
    """The daily run's transform step (``sqlmesh run`` on prod), in process."""
    with warehouse_env(path), transform.open_context() as ctx:
        transform.run_prod(ctx=ctx, execution_time=_at(days))


# `sqlmesh run` as cron calls it, through SQLMesh alone (none of dvdrental's code): the CLI has no
# execution-time option, so its Python API is called with one, in a process of its own.
BARE_RUN = """
import sys
from sqlmesh import Context
status = Context(paths=[sys.argv[1]]).run("prod", execution_time=sys.argv[2], end=sys.argv[2])
print("run status:", status)
sys.exit(1 if status.is_failure else 0)
"""


def _bare_sqlmesh_run(path: Path, days: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "DVD_WAREHOUSE_PATH": str(path), "SQLMESH__DISABLE_ANONYMIZED_ANALYTICS": "true"}
    return subprocess.run(
        [sys.executable, "-c", BARE_RUN, str(PROJECT_ROOT), _at(days)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _tombstones(path: Path) -> int:
    return query(path, "SELECT count(*) FROM staging.dvd_rental WHERE _is_deleted")[0][0]


def _assert_gold_equals_source(path: Path, dsn: str) -> None:
    """Every answer, the rental count and the revenue of gold equal plain SQL on the source."""
    answers = {answer.question.key: answer for answer in answers_from_duckdb(str(path))}
    with psycopg.connect(dsn) as conn:
        for question in QUESTIONS:
            assert_answer_matches(question.key, answers[question.key].rows, source_answer(conn, question.key))
        rentals, revenue = conn.execute(
            "SELECT (SELECT count(*) FROM rental),"
            " (SELECT sum(p.amount) FROM payment p JOIN rental r USING (rental_id))"
        ).fetchone()
    assert query(path, "SELECT count(*), sum(payment_amount) FROM gold.fact_rental")[0] == (rentals, revenue)


def test_half_and_empty_loads_stop_before_staging_then_real_deletions_and_good_loads_flow(
    sample_warehouse: Path, source_db: str, tmp_path: Path
) -> None:
    path = copy_warehouse(sample_warehouse, tmp_path / "warehouse" / "dvdrental.duckdb")
    before = prod_state(path)

    # Airbyte reported success, but its overwrite left half of the rentals.
    _bronze(path, "DELETE FROM bronze.raw_dvd_rental WHERE rental_id % 2 = 0")
    bare = _bare_sqlmesh_run(path, 1)
    assert bare.returncode == 1 and "FAILURE" in bare.stdout, bare.stdout + bare.stderr
    assert query(path, "SELECT verdict FROM staging.bronze_loads WHERE source_table = 'rental'") == [
        ("refused: it would delete 8022 of 16044 live keys (at most 1604 in one run)",)
    ]
    assert prod_state(path) == before and _tombstones(path) == 0

    with pytest.raises(BrokenLoadError) as refused:
        _run(path, 1)
    message = str(refused.value)
    assert refused.value.exit_code == 12 and "\n" not in message
    assert "bronze.raw_dvd_rental has 8,022 keys against 16,044 live keys" in message
    assert "DVD_ACCEPT_MASS_DELETION=rental:8022" in message
    assert prod_state(path) == before and _tombstones(path) == 0, "a refused load reached staging or gold"

    # The next load is good again, but the language table came back empty.
    load_bronze(source_db, path, progress=False)
    _bronze(path, "DELETE FROM bronze.raw_dvd_language")
    with pytest.raises(
        BrokenLoadError, match=r"bronze\.raw_dvd_language has 0 keys against 6 live keys \(refused: the load is empty\)"
    ):
        _run(path, 1)
    assert prod_state(path) == before

    # A real deletion of a few rows in the source flows through, as before the guard.
    with psycopg.connect(source_db, autocommit=True) as conn:
        conn.execute("DELETE FROM payment WHERE rental_id IN (1, 2, 3)")
        conn.execute("DELETE FROM rental WHERE rental_id IN (1, 2, 3)")
    load_bronze(source_db, path, progress=False)
    _run(path, 2)
    assert query(path, "SELECT count(*) FROM gold.fact_rental")[0][0] == SAMPLE_RENTALS - 3
    _assert_gold_equals_source(path, source_db)

    # And the next good load changes nothing.
    load_bronze(source_db, path, progress=False)
    _run(path, 3)
    _assert_gold_equals_source(path, source_db)


def test_a_real_mass_deletion_is_accepted_for_one_run_only(sample_warehouse: Path, tmp_path: Path) -> None:
    path = copy_warehouse(sample_warehouse, tmp_path / "warehouse" / "dvdrental.duckdb")
    _bronze(path, "DELETE FROM bronze.raw_dvd_rental WHERE rental_id > 8000")
    kept = query(path, "SELECT count(DISTINCT rental_id) FROM bronze.raw_dvd_rental")[0][0]
    os.environ["DVD_ACCEPT_MASS_DELETION"] = f"rental:{kept + 1}"  # another load's count: not this one
    try:
        with pytest.raises(BrokenLoadError):
            _run(path, 1)
        os.environ["DVD_ACCEPT_MASS_DELETION"] = f"rental:{kept}"
        _run(path, 1)
    finally:
        os.environ.pop("DVD_ACCEPT_MASS_DELETION", None)
    assert query(path, "SELECT count(*) FROM gold.fact_rental")[0][0] == kept
    # The accepted load is the new baseline; a further loss of half is refused again.
    _bronze(path, "DELETE FROM bronze.raw_dvd_rental WHERE rental_id % 2 = 0")
    with pytest.raises(BrokenLoadError, match=f"against {kept:,} live keys"):
        _run(path, 2)


# -- the Airbyte path: `dvdrental daily --via airbyte`, the fake reporting a successful sync ----------


def _airbyte_daily(path: Path, fake: FakeAirbyte, logs: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRBYTE_", "DATABRICKS_", "SQLMESH_"))}
    env.update(
        DVD_WAREHOUSE_PATH=str(path),
        DVD_LOG_DIR=str(logs),
        SQLMESH__DISABLE_ANONYMIZED_ANALYTICS="true",
        **airbyte_env(fake, AIRBYTE_MAX_RETRIES="1"),
    )
    return subprocess.run(
        [sys.executable, "-m", "dvdrental", "daily", "--via", "airbyte", "--execution-time", _at(1)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _meta(field: str, change: str, reason: str) -> str:
    """An ``_airbyte_meta`` as destination-databricks writes it for a value it changed (DatabricksValueCoercer.kt)."""
    return json.dumps({"sync_id": 7, "changes": [{"field": field, "change": change, "reason": reason}]})


def _error_line(done: subprocess.CompletedProcess) -> str:
    lines = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


@pytest.fixture
def fake() -> t.Iterator[FakeAirbyte]:
    with FakeAirbyte() as server:
        yield server


def test_airbyte_path_refuses_a_half_table_and_a_nulled_measure_and_reports_other_changes(
    sample_warehouse: Path, fake: FakeAirbyte, tmp_path: Path
) -> None:
    half = copy_warehouse(sample_warehouse, tmp_path / "half" / "dvdrental.duckdb")
    before = prod_state(half)
    _bronze(half, "DELETE FROM bronze.raw_dvd_payment WHERE payment_id % 2 = 0")
    done = _airbyte_daily(half, fake, tmp_path / "logs")
    assert done.returncode == 12, done.stderr
    assert "bronze.raw_dvd_payment has 7,298 keys against 14,596 live keys" in _error_line(done)
    assert prod_state(half) == before

    # Airbyte could not store a payment's amount: it nulled it and said so in _airbyte_meta.
    nulled = copy_warehouse(sample_warehouse, tmp_path / "nulled" / "dvdrental.duckdb")
    meta = _meta("amount", "NULLED", "DESTINATION_FIELD_SIZE_LIMITATION")
    _bronze(
        nulled,
        stored_per_row("bronze.raw_dvd_payment"),
        f"UPDATE bronze.raw_dvd_payment SET amount = NULL, _airbyte_meta = '{meta}' WHERE payment_id = 17503",
    )
    done = _airbyte_daily(nulled, fake, tmp_path / "logs")
    assert done.returncode == 12, done.stderr
    assert "bronze.raw_dvd_payment has 14,596 keys" in _error_line(done)
    assert "Airbyte changed 1 rows on a key or measure column" in _error_line(done)
    assert prod_state(nulled) == before

    # A truncated film description (no key, no measure): the run goes on and counts it.
    truncated = copy_warehouse(sample_warehouse, tmp_path / "truncated" / "dvdrental.duckdb")
    meta = _meta("description", "TRUNCATED", "DESTINATION_RECORD_SIZE_LIMITATION")
    _bronze(
        truncated,
        stored_per_row("bronze.raw_dvd_film"),
        f"UPDATE bronze.raw_dvd_film SET _airbyte_meta = '{meta}' WHERE film_id IN (1, 2)",
    )
    done = _airbyte_daily(truncated, fake, tmp_path / "logs")
    assert done.returncode == 0, done.stderr
    assert "2 rows with values Airbyte changed" in done.stdout + done.stderr
    assert "load guard: film: 2 rows with values Airbyte changed (_airbyte_meta)" in done.stdout


def test_airbyte_path_source_columns_added_dropped_retyped(
    sample_warehouse: Path, fake: FakeAirbyte, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    added = copy_warehouse(sample_warehouse, tmp_path / "added" / "dvdrental.duckdb")
    _bronze(added, "ALTER TABLE bronze.raw_dvd_rental ADD COLUMN loyalty_points BIGINT DEFAULT 3")
    first = _airbyte_daily(added, fake, logs)
    assert first.returncode == 0, first.stderr
    report = "new source column in bronze, read by no model (reported once): bronze.raw_dvd_rental.loyalty_points"
    assert report in first.stdout
    again = _airbyte_daily(added, fake, logs)
    assert again.returncode == 0 and report not in again.stdout + again.stderr, again.stderr

    dropped = copy_warehouse(sample_warehouse, tmp_path / "dropped" / "dvdrental.duckdb")
    before = prod_state(dropped)
    _bronze(dropped, "ALTER TABLE bronze.raw_dvd_rental DROP COLUMN return_date")
    done = _airbyte_daily(dropped, fake, logs)
    assert done.returncode == SchemaDriftError.exit_code, done.stderr
    assert (
        "Bronze schema changed: bronze.raw_dvd_rental has no column return_date, which the models read"
        in _error_line(done)
    )
    bare = _bare_sqlmesh_run(dropped, 1)
    assert bare.returncode != 0
    assert prod_state(dropped) == before

    retyped = copy_warehouse(sample_warehouse, tmp_path / "retyped" / "dvdrental.duckdb")
    _bronze(retyped, "ALTER TABLE bronze.raw_dvd_rental ALTER COLUMN staff_id TYPE VARCHAR")
    done = _airbyte_daily(retyped, fake, logs)
    assert done.returncode == SchemaDriftError.exit_code, done.stderr
    assert "bronze.raw_dvd_rental.staff_id is STRING where the models read BIGINT" in _error_line(done)
    assert prod_state(retyped) == before


def test_durations_are_exact_to_the_microsecond(sample_warehouse: Path, source_db: str, tmp_path: Path) -> None:
    path = copy_warehouse(sample_warehouse, tmp_path / "warehouse" / "dvdrental.duckdb")
    with psycopg.connect(source_db, autocommit=True) as conn:
        # 0.9 s before the next second, returned 0.2 s after one: whole seconds would say a second more.
        conn.execute(
            "UPDATE rental SET rental_date = date_trunc('second', rental_date) + interval '0.9 second', "
            "return_date = date_trunc('second', return_date) + interval '3 second 200 milliseconds', "
            "last_update = now() WHERE rental_id IN (2, 3, 4)"
        )
        expected = dict(
            conn.execute(
                "SELECT rental_id, extract(epoch FROM return_date - rental_date) / 86400"
                " FROM rental WHERE rental_id IN (2, 3, 4)"
            ).fetchall()
        )
    load_bronze(source_db, path, progress=False)
    _run(path, 1)
    got = dict(query(path, "SELECT rental_id, rental_duration_days FROM gold.fact_rental WHERE rental_id IN (2, 3, 4)"))
    assert got.keys() == expected.keys()
    for rental_id, days in expected.items():
        assert abs(got[rental_id] - float(days)) < 1e-9, f"rental {rental_id}: {got[rental_id]} days, source {days}"
