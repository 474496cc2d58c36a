"""Schema drift in the source, against a real PostgreSQL copy of the sample.

* A new column: the next load carries it into bronze, prod still runs, and gold and the five
  answers are exactly what they were (silver selects its columns by name).
* A column the pipeline declares (external_models.yaml, read by silver) renamed or dropped: the
  load refuses before opening the warehouse, naming table and column (SchemaDriftError, exit 3);
  bronze keeps its generation, `dvdrental daily` stops there and prod is untouched.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from dvdrental.warehouse import context as transform
from foundation.errors import SchemaDriftError, SourceError
from foundation.paths import PROJECT_ROOT
from ingest.bronze import load_bronze
from tests.support.loads import bronze_state
from tests.support.warehouses import (
    copy_warehouse,
    prod_state,
    query,
    sqlmesh_context,
    tomorrow,
)


@pytest.fixture(scope="module")
def built(sample_warehouse: Path) -> tuple[Path, dict[str, object]]:  # noqa: F811
    return sample_warehouse, prod_state(sample_warehouse)


def test_new_column_reaches_bronze_and_gold_is_unchanged(
    source_db: str, built: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    built_path, before = built
    warehouse = copy_warehouse(built_path, tmp_path / "dvdrental.duckdb")
    with psycopg.connect(source_db, autocommit=True) as conn:
        conn.execute("ALTER TABLE rental ADD COLUMN channel text NOT NULL DEFAULT 'store'")
        conn.execute("ALTER TABLE payment ADD COLUMN tip numeric(5,2)")
        conn.execute("UPDATE payment SET tip = 1.50 WHERE payment_id = 17503")

    load = load_bronze(source_db, warehouse, progress=False)  # extra columns pass the drift check
    assert query(warehouse, "SELECT channel, count(*) FROM bronze.raw_dvd_rental GROUP BY ALL") == [("store", 16044)]
    assert query(
        warehouse,
        "SELECT data_type FROM information_schema.columns WHERE table_name = 'raw_dvd_payment' AND column_name = 'tip'",
    ) == [("DECIMAL(38,10)",)]
    assert query(warehouse, "SELECT max(_airbyte_generation_id) FROM bronze.raw_dvd_rental") == [(load.generation_id,)]

    with sqlmesh_context(warehouse) as ctx:
        assert transform.run_prod(ctx=ctx, execution_time=tomorrow()).is_success
    # Silver ran on the new generation and ignores the new columns: the reference tables are copied
    # whole from it, the change-driven event tables found no changed row (a new column is not part
    # of a rental's or payment's content); gold is exactly as before.
    [(loaded_at,)] = query(warehouse, "SELECT DISTINCT _loaded_at FROM silver.dvd_customer")
    [(extracted_at,)] = query(warehouse, "SELECT DISTINCT _airbyte_extracted_at FROM bronze.raw_dvd_customer")
    assert loaded_at == extracted_at
    for table in ("staging.dvd_rental", "staging.dvd_payment"):
        assert query(warehouse, f"SELECT count(DISTINCT _changed_at) FROM {table}") == [(1,)], table
    assert "channel" not in {
        c
        for (c,) in query(
            warehouse, "SELECT column_name FROM information_schema.columns WHERE table_name = 'dvd_rental'"
        )
    }
    assert prod_state(warehouse) == before


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            "ALTER TABLE rental RENAME COLUMN return_date TO returned_on",
            "public.rental.return_date is missing in the source (renamed or dropped?)",
        ),
        (
            "ALTER TABLE address DROP COLUMN phone CASCADE; ALTER TABLE payment DROP COLUMN amount CASCADE",
            "public.address.phone, public.payment.amount are missing in the source (renamed or dropped?)",
        ),
        (
            "ALTER TABLE rental ALTER COLUMN return_date TYPE text",
            "The source type of public.rental.return_date would load as STRING (declared TIMESTAMP_NTZ)",
        ),
        # A domain is its base type (source-postgres reads result-set metadata): year over text is a string.
        (
            "CREATE DOMAIN year_text AS text; "
            "ALTER TABLE film ALTER COLUMN release_year TYPE year_text USING release_year::text",
            "The source type of public.film.release_year would load as STRING (declared BIGINT)",
        ),
        (
            "ALTER TABLE customer ALTER COLUMN active TYPE numeric(3,1)",
            "The source type of public.customer.active would load as DECIMAL(38,10) (declared BIGINT)",
        ),
    ],
    ids=["renamed", "two dropped", "retyped", "domain over text", "numeric with a scale"],
)
def test_missing_declared_column_refused_before_bronze(
    change: str, expected: str, source_db: str, warehouse: Path
) -> None:
    load_bronze(source_db, warehouse, progress=False)
    before = bronze_state(warehouse)
    with psycopg.connect(source_db, autocommit=True) as conn:
        conn.execute(change)
    with pytest.raises(SchemaDriftError) as refused:
        load_bronze(source_db, warehouse, progress=False)
    message = str(refused.value)
    assert message.startswith(expected), message
    assert "Bronze is unchanged (previous generation kept)" in message and "\n" not in message
    assert isinstance(refused.value, SourceError) and refused.value.exit_code == 3
    assert bronze_state(warehouse) == before


def test_a_type_change_airbyte_maps_to_the_same_bronze_type_loads(source_db: str, warehouse: Path) -> None:
    """integer -> bigint is BIGINT in bronze either way (Airbyte's integer): not drift. So is a
    numeric(p,0) (the current source-postgres maps numeric with scale 0 to an integer) and the
    domain year over integer."""
    with psycopg.connect(source_db, autocommit=True) as conn:
        conn.execute("ALTER TABLE rental ALTER COLUMN staff_id TYPE bigint")
        conn.execute("ALTER TABLE rental ADD COLUMN points numeric(5,0)")
    load = load_bronze(source_db, warehouse, progress=False)
    assert {t.table: t.rows for t in load.tables}["rental"] == 16044
    typed = "SELECT data_type FROM information_schema.columns WHERE table_name = '{}' AND column_name = '{}'"
    assert query(warehouse, typed.format("raw_dvd_rental", "points")) == [("BIGINT",)]
    assert query(warehouse, typed.format("raw_dvd_film", "release_year")) == [("BIGINT",)]  # domain year


def test_daily_stops_at_the_drift_and_prod_is_untouched(
    source_db: str, built: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    built_path, before = built
    warehouse = copy_warehouse(built_path, tmp_path / "warehouse" / "dvdrental.duckdb")
    bronze_before = bronze_state(warehouse)
    views_sql = (
        "SELECT schema_name, view_name, sql FROM duckdb_views() WHERE schema_name IN ('silver', 'gold') ORDER BY ALL"
    )
    views_before = query(warehouse, views_sql)
    with psycopg.connect(source_db, autocommit=True) as conn:
        conn.execute("ALTER TABLE rental RENAME COLUMN return_date TO returned_on")
    env = {
        **os.environ,
        "DVD_WAREHOUSE_PATH": str(warehouse),
        "DVD_SOURCE_DSN": source_db,
        "DVD_INGEST_VIA": "direct",
        "DVD_LOG_DIR": str(tmp_path / "logs"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "dvdrental", "daily"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == SchemaDriftError.exit_code == 3, done.stderr
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: public.rental.return_date is missing in the source (renamed or dropped?)"), (
        done.stderr
    )
    assert "step 2/3" not in done.stdout  # SQLMesh never started
    assert bronze_state(warehouse) == bronze_before
    assert query(warehouse, views_sql) == views_before
    assert prod_state(warehouse) == before
