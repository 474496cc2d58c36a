"""Bad data on the daily path: every kind is caught by a named audit, and gold keeps its results.

Each case copies the session's sample warehouse, injects one kind of bad row straight into
bronze (as Airbyte or a broken source could leave it), then runs the daily `sqlmesh run` on
prod. A blocking case must fail with a TransformError naming the audit, the model and the
number of bad rows, and every gold table and the five answers must still be what they were.
(`sqlmesh run` writes a model's table before auditing it, so the data audits sit on the
staging tables: a failure there stops silver and gold, which keep the previous run's rows.)

Two kinds are not failures, by decision (docs/reliability.md):
* a duplicate primary key in bronze: silver keeps the newest extract, deterministically;
* a payment for a missing rental: kept in silver, left out of rental revenue, flagged by a
  non-blocking audit (a warning; `dvdrental daily` still exits 6 after the run).

The last test goes through the source and `run_daily` end to end.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import psycopg
import pytest

from dvdrental.warehouse import context as transform
from foundation.errors import TransformError
from foundation.paths import PROJECT_ROOT
from tests.support.warehouses import (
    copy_warehouse,
    prod_state,
    query,
    sqlmesh_context,
    stored_per_row,
    tomorrow,
)


@pytest.fixture(scope="module")
def built(sample_warehouse: Path) -> tuple[Path, dict[str, object]]:  # noqa: F811
    return sample_warehouse, prod_state(sample_warehouse)


def _inject(built_path: Path, target: Path, *statements: str) -> Path:
    warehouse = copy_warehouse(built_path, target)
    with duckdb.connect(str(warehouse)) as con:
        for statement in statements:
            con.execute(statement)
    return warehouse


# Bad rental rows, one kind each, injected together: staging.dvd_rental fails every audit at once.
RENTAL_CASES = [
    # (what, bronze statement, audit, bad rows)
    (
        "NULL in a required column",
        "UPDATE bronze.raw_dvd_rental SET customer_id = NULL WHERE rental_id = 7",
        "not_null",
        1,
    ),
    (
        "rental of a missing inventory item (two rentals, one dangling key)",
        "UPDATE bronze.raw_dvd_rental SET inventory_id = 999999 WHERE rental_id IN (5, 6)",
        "references_dimension",
        1,
    ),
    (
        "return before its rental",
        "UPDATE bronze.raw_dvd_rental SET return_date = rental_date - INTERVAL 2 HOUR WHERE rental_id IN (8, 9, 10)",
        "not_before",
        3,
    ),
    (
        "rental dated in the future",
        "UPDATE bronze.raw_dvd_rental SET rental_date = TIMESTAMP '2031-01-01 10:00:00', return_date = NULL "
        "WHERE rental_id = 11",
        "not_in_future",
        1,
    ),
]


def _bad_rows(count: int) -> str:
    return f"{count} bad row{'' if count == 1 else 's'}"


def test_bad_rentals_fail_named_audits_and_gold_keeps_previous_results(
    built: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    built_path, before = built
    warehouse = _inject(built_path, tmp_path / "dvdrental.duckdb", *(sql for _, sql, _, _ in RENTAL_CASES))

    with sqlmesh_context(warehouse) as ctx, pytest.raises(TransformError) as failure:
        transform.run_prod(ctx=ctx, execution_time=tomorrow())
    message = str(failure.value)
    first_line = message.splitlines()[0]
    for what, _, audit, count in RENTAL_CASES:
        assert f"{audit} on staging.dvd_rental ({_bad_rows(count)})" in first_line, (what, message)
        assert f"\n  audit {audit} on staging.dvd_rental: {_bad_rows(count)}\n" in message, (what, message)
    assert "Traceback" not in message and "EvaluateNode" not in message
    assert message.endswith("Models downstream of a failure were not run: they keep the previous results.")
    assert prod_state(warehouse) == before


def test_negative_payment_fails_a_named_audit(built: tuple[Path, dict[str, object]], tmp_path: Path) -> None:
    built_path, before = built
    warehouse = _inject(
        built_path,
        tmp_path / "dvdrental.duckdb",
        "UPDATE bronze.raw_dvd_payment SET amount = -amount WHERE payment_id IN (17503, 17504)",
    )
    with sqlmesh_context(warehouse) as ctx:
        with pytest.raises(
            TransformError, match=r"failed: audit accepted_range on staging\.dvd_payment \(2 bad rows\)"
        ):
            transform.run_prod(ctx=ctx, execution_time=tomorrow())
    assert prod_state(warehouse) == before


def test_duplicate_keys_keep_the_newest_extract_deterministically(
    built: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    """Airbyte can leave two copies of a key. Silver keeps one: the newest _airbyte_extracted_at,
    and on an exact tie the larger _airbyte_raw_id. The run passes and gold has one row per rental."""
    built_path, before = built
    warehouse = _inject(
        built_path,
        tmp_path / "dvdrental.duckdb",
        stored_per_row("bronze.raw_dvd_rental"),
        # rental 12 read again a minute later, returned a day later in that copy
        "INSERT INTO bronze.raw_dvd_rental SELECT * "
        "REPLACE ('00000000-0000-4000-8000-000000000001' AS _airbyte_raw_id, "
        "_airbyte_extracted_at + INTERVAL 1 MINUTE AS _airbyte_extracted_at, "
        "return_date + INTERVAL 1 DAY AS return_date) "
        "FROM bronze.raw_dvd_rental WHERE rental_id = 12",
        # rental 13 twice in the same instant with different content: the all-f UUID sorts after every other
        "INSERT INTO bronze.raw_dvd_rental SELECT * "
        "REPLACE ('ffffffff-ffff-ffff-ffff-ffffffffffff' AS _airbyte_raw_id, "
        "2 AS staff_id) "
        "FROM bronze.raw_dvd_rental WHERE rental_id = 13 AND staff_id = 1",
    )
    assert query(warehouse, "SELECT count(*) FROM bronze.raw_dvd_rental WHERE rental_id IN (12, 13)") == [(4,)]
    with sqlmesh_context(warehouse) as ctx:
        assert transform.run_prod(ctx=ctx, execution_time=tomorrow()).is_success

    assert query(warehouse, "SELECT count(*), count(DISTINCT rental_id) FROM gold.report_rentals") == [(16044, 16044)]
    [(old_return,)] = query(built_path, "SELECT returned_at FROM gold.fact_rental WHERE rental_id = 12")
    assert query(warehouse, "SELECT returned_at FROM gold.fact_rental WHERE rental_id = 12") == [
        (old_return + timedelta(days=1),)
    ]
    assert query(warehouse, "SELECT staff_id FROM gold.fact_rental WHERE rental_id = 13") == [(2,)]
    # Everything else is as before.
    exclude = "WHERE rental_id NOT IN (12, 13) ORDER BY rental_id"
    assert query(warehouse, f"SELECT * EXCLUDE (_changed_at) FROM gold.fact_rental {exclude}") == query(
        built_path, f"SELECT * EXCLUDE (_changed_at) FROM gold.fact_rental {exclude}"
    )
    assert prod_state(warehouse)["gold.dim_customer"] == before["gold.dim_customer"]


def _daily(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dvdrental", "daily", *args],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_daily_end_to_end_bad_source_row_then_fix_then_orphan_payment(
    source_db: str, built: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    """`dvdrental daily` on a changed source. A rental of a missing copy fails the run (exit 6,
    one error line naming audit, model and count; gold and the answers unchanged; the log says
    the same). Fixed, and with a payment for a missing rental instead, the next run goes
    through every model - the payment is left out of revenue - and then reports the flag (exit 6)."""
    built_path, before = built
    warehouse = copy_warehouse(built_path, tmp_path / "warehouse" / "dvdrental.duckdb")
    logs = tmp_path / "logs"
    env = {
        **os.environ,
        "DVD_WAREHOUSE_PATH": str(warehouse),
        "DVD_SOURCE_DSN": source_db,
        "DVD_INGEST_VIA": "direct",
        "DVD_LOG_DIR": str(logs),
        "SQLMESH__DISABLE_ANONYMIZED_ANALYTICS": "true",
    }
    next_day = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d 01:00:00")

    with psycopg.connect(source_db, autocommit=True) as conn:  # the sample's FKs would refuse the bad rows
        conn.execute("ALTER TABLE rental DROP CONSTRAINT rental_inventory_id_fkey")
        conn.execute("ALTER TABLE payment DROP CONSTRAINT payment_rental_id_fkey")
        [(inventory_id,)] = conn.execute("SELECT inventory_id FROM rental WHERE rental_id = 5").fetchall()
        conn.execute("UPDATE rental SET inventory_id = 999999 WHERE rental_id = 5")

    failed = _daily(env, "--execution-time", next_day)
    assert failed.returncode == TransformError.exit_code == 6, failed.stderr
    assert "Traceback" not in failed.stderr
    [error_line] = [line for line in failed.stderr.splitlines() if line.startswith("error: ")]
    assert error_line.startswith(
        "error: sqlmesh run prod failed: audit references_dimension on staging.dvd_rental (1 bad row)"
    )
    assert prod_state(warehouse) == before
    [log] = sorted(logs.glob("daily_*.log"))
    assert "references_dimension on staging.dvd_rental (1 bad row)" in log.read_text()
    [summary] = [line for line in failed.stdout.splitlines() if line.startswith("daily FAILED:")]
    assert "audits" in summary and "/ 1 failed" in summary  # the blocking audit is counted

    with psycopg.connect(source_db, autocommit=True) as conn:
        conn.execute("UPDATE rental SET inventory_id = %s WHERE rental_id = 5", (inventory_id,))
        conn.execute("UPDATE payment SET rental_id = 999999 WHERE payment_id = 17503")
    flagged = _daily(env, "--execution-time", next_day)
    assert flagged.returncode == TransformError.exit_code, flagged.stderr
    output = flagged.stdout + flagged.stderr
    assert "Traceback" not in output
    assert "references_dimension' audit error: 1 row failed" in output  # SQLMesh's warning
    assert (
        flagged.stderr.strip().splitlines()[-1]
        == 'error: audits failed on "dvdrental"."staging"."dvd_payment"; see the log above.'
    )
    with psycopg.connect(source_db) as conn:  # the expectations: plain SQL on the changed source
        [(amount,)] = conn.execute("SELECT amount FROM payment WHERE payment_id = 17503").fetchall()
        [(revenue,)] = conn.execute(
            "SELECT sum(p.amount) FROM payment p WHERE EXISTS (SELECT 1 FROM rental r WHERE r.rental_id = p.rental_id)"
        ).fetchall()
    # silver keeps the orphan payment as the source has it ...
    assert query(
        warehouse, "SELECT amount FROM silver.dvd_payment WHERE payment_id = 17503 AND rental_id = 999999"
    ) == [(amount,)]
    # ... and gold ran: revenue is the source's payments on rentals that exist, the orphan in no rental's revenue
    [(revenue_after,)] = query(warehouse, "SELECT sum(payment_amount) FROM gold.report_rentals")
    assert revenue_after == revenue
    assert query(warehouse, "SELECT count(*) FROM gold.report_rentals") == [(16044,)]
