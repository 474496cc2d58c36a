"""The direct full load against a real PostgreSQL server (no mocks).

What it must guarantee: bronze equals the source (counts, values, NULLs), in
the layout Airbyte's Databricks destination writes, one generation per load,
and a failed or killed load leaves the previous generation intact.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import sqlglot

from foundation.errors import LoadError, SourceError
from foundation.paths import PROJECT_ROOT
from ingest.bronze import load_bronze
from ingest.bronze.layout import declared_bronze_columns
from ingest.tables import SOURCE_TABLES
from tests.support.loads import bronze_state, slow_down, source_counts, spawn_load, wait_for_copy_of
from tests.support.warehouses import query as query_warehouse


def test_counts_equal_source_for_every_table(pristine_dsn: str, warehouse: Path) -> None:
    result = load_bronze(pristine_dsn, warehouse, progress=False)
    expected = source_counts(pristine_dsn)
    assert {t.table: t.rows for t in result.tables} == expected
    assert {name: rows for name, (rows, _, _) in bronze_state(warehouse).items()} == expected
    # the sample's published counts, as a guard against loading the wrong database
    assert expected["rental"] == 16044 and expected["payment"] == 14596


def test_layout_matches_airbyte_and_external_models(pristine_dsn: str, warehouse: Path) -> None:
    """Column names, order and types equal external_models.yaml (the Databricks types SQLMesh sees)."""
    load_bronze(pristine_dsn, warehouse, progress=False)
    declared = declared_bronze_columns()
    for table in SOURCE_TABLES:
        actual = query_warehouse(
            warehouse,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'bronze' AND table_name = ? ORDER BY ordinal_position",
            [table.bronze_name],
        )
        expected = [
            (name, sqlglot.exp.DataType.build(dtype, dialect="databricks").sql("duckdb"))
            for name, dtype in declared[table.bronze_name].items()
        ]
        normalise = {"TEXT": "VARCHAR", "TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE", "DECIMAL(38, 10)": "DECIMAL(38,10)"}
        # The one deliberate difference: the random raw id is text on Databricks, DuckDB's UUID locally.
        local = {"_airbyte_raw_id": "UUID"}
        assert [(n, local.get(n, normalise.get(t, t))) for n, t in expected] == actual, table.name
        assert [c for c, _ in actual[:4]] == [
            "_airbyte_raw_id",
            "_airbyte_extracted_at",
            "_airbyte_meta",
            "_airbyte_generation_id",
        ]


def test_values_nulls_and_arrays_round_trip(pristine_dsn: str, warehouse: Path) -> None:
    load_bronze(pristine_dsn, warehouse, progress=False)
    unreturned = query_warehouse(warehouse, "SELECT count(*) FROM bronze.raw_dvd_rental WHERE return_date IS NULL")
    assert unreturned == [(183,)]
    with psycopg.connect(pristine_dsn) as conn:
        source_features = dict(conn.execute("SELECT film_id, special_features FROM film").fetchall())
        source_amounts = dict(conn.execute("SELECT payment_id, amount FROM payment").fetchall())
        source_film = conn.execute(
            "SELECT rating::text, release_year, rental_rate FROM film WHERE film_id = 1"  # domain year: an integer
        ).fetchone()
    bronze_features = dict(query_warehouse(warehouse, "SELECT film_id, special_features FROM bronze.raw_dvd_film"))
    assert {k: (json.loads(v) if v is not None else None) for k, v in bronze_features.items()} == source_features
    bronze_amounts = dict(query_warehouse(warehouse, "SELECT payment_id, amount FROM bronze.raw_dvd_payment"))
    assert bronze_amounts == source_amounts
    assert query_warehouse(
        warehouse, "SELECT rating, release_year, rental_rate FROM bronze.raw_dvd_film WHERE film_id = 1"
    ) == [source_film]
    meta, raw_ids = query_warehouse(
        warehouse, "SELECT any_value(_airbyte_meta), count(DISTINCT _airbyte_raw_id) FROM bronze.raw_dvd_rental"
    )[0]
    assert set(json.loads(meta)) == {"sync_id", "changes"} and json.loads(meta)["changes"] == []
    assert raw_ids == 16044


def test_spark_export_carries_the_raw_id_as_text(pristine_dsn: str, warehouse: Path, tmp_path: Path) -> None:
    """Locally the raw id is DuckDB's UUID; the Parquet handed to Spark holds the text Databricks has."""
    from dvdrental.local_databricks.bronze import export_parquet
    from ingest.tables import TABLES_BY_NAME

    load_bronze(pristine_dsn, warehouse, progress=False)
    rental = TABLES_BY_NAME["rental"]
    parquet = export_parquet(warehouse, tmp_path, tables=(rental,))[rental.bronze_fqn]
    [(kind, distinct, well_formed)] = query_warehouse(
        warehouse,
        f"SELECT any_value(typeof(_airbyte_raw_id)), count(DISTINCT _airbyte_raw_id), "
        f"bool_and(regexp_full_match(_airbyte_raw_id, '[0-9a-f]{{8}}(-[0-9a-f]{{4}}){{3}}-[0-9a-f]{{12}}')) "
        f"FROM read_parquet('{parquet}')",
    )
    assert (kind, distinct, well_formed) == ("VARCHAR", 16044, True)


def test_second_load_bumps_generation_and_keeps_counts(pristine_dsn: str, warehouse: Path) -> None:
    first = load_bronze(pristine_dsn, warehouse, progress=False)
    before = bronze_state(warehouse)
    second = load_bronze(pristine_dsn, warehouse, progress=False)
    after = bronze_state(warehouse)
    assert second.generation_id == first.generation_id + 1
    assert {t: rows for t, (rows, _, _) in after.items()} == {t: rows for t, (rows, _, _) in before.items()}
    assert all(lo == hi == second.generation_id for _, lo, hi in after.values())
    extracted = query_warehouse(warehouse, "SELECT count(DISTINCT _airbyte_extracted_at) FROM bronze.raw_dvd_rental")
    assert extracted == [(1,)]


def test_all_tables_read_from_one_snapshot(source_db: str, warehouse: Path) -> None:
    """A row committed in the source while the load runs is in no bronze table or in all of them.

    `rental` is loaded last; a new customer and a rental of theirs are committed
    together while an earlier table is being read. The load must see neither
    (one snapshot), so bronze never has a rental whose customer is missing.
    """
    with psycopg.connect(source_db, autocommit=True) as conn:
        # Make reading `address` (an early table) slow enough to commit in the middle.
        slow_down(conn, "address", seconds_per_row=0.002)
    proc = spawn_load(source_db, warehouse)
    try:
        wait_for_copy_of(source_db, "address", proc)
        with psycopg.connect(source_db, autocommit=True) as conn:
            with conn.transaction():
                conn.execute(
                    "INSERT INTO customer (customer_id, store_id, first_name, last_name, address_id, active) "
                    "VALUES (9001, 1, 'Snap', 'Shot', 5, 1)"
                )
                conn.execute(
                    "INSERT INTO rental (rental_id, rental_date, inventory_id, customer_id, staff_id) "
                    "VALUES (90001, now(), 1, 9001, 1)"
                )
        assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        proc.kill()
    customers = query_warehouse(warehouse, "SELECT count(*) FROM bronze.raw_dvd_customer WHERE customer_id = 9001")
    rentals = query_warehouse(warehouse, "SELECT count(*) FROM bronze.raw_dvd_rental WHERE rental_id = 90001")
    assert customers == rentals == [(0,)]


def test_failure_half_way_keeps_previous_generation(source_db: str, warehouse: Path) -> None:
    """`rental` (the last table) fails mid-read: the ten tables already copied are rolled back too."""
    load_bronze(source_db, warehouse, progress=False)
    before = bronze_state(warehouse)
    with psycopg.connect(source_db, autocommit=True) as conn:
        conn.execute("ALTER TABLE rental RENAME TO rental_data")
        conn.execute(
            "CREATE FUNCTION boom(id int) RETURNS int LANGUAGE plpgsql AS "
            "$$ BEGIN IF id = 16000 THEN RAISE EXCEPTION 'disk on fire'; END IF; RETURN id; END $$"
        )
        conn.execute(
            "CREATE VIEW rental AS SELECT boom(rental_id) AS rental_id, rental_date, inventory_id, "
            "customer_id, return_date, staff_id, last_update FROM rental_data"
        )
    with pytest.raises(LoadError, match=r"public\.rental.*previous generation kept"):
        load_bronze(source_db, warehouse, progress=False)
    assert bronze_state(warehouse) == before


def test_a_copy_short_of_the_source_count_is_refused(source_db: str, warehouse: Path) -> None:
    """The row-count guard (ingest/bronze/direct.py): a table whose copy holds fewer rows than the
    source's count(*) in the same snapshot is a failed load, not a quietly short bronze.

    `rental` becomes a view that hides five rows from the loader's copy only: the filter reads the
    statement PostgreSQL is running (``current_query()``), so the loader's ``SELECT count(*)`` (run
    beside the copy, in the same exported snapshot: ingest/bronze/snapshot_counts.py) sees all 16,044
    rows and DuckDB's ``COPY (SELECT ...) TO STDOUT`` 16,039. What a source that changes under a
    careless reader would do."""
    load_bronze(source_db, warehouse, progress=False)
    before = bronze_state(warehouse)
    rentals = 16044
    with psycopg.connect(source_db, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM rental").fetchone() == (rentals,)
        conn.execute("ALTER TABLE rental RENAME TO rental_data")
        conn.execute(
            "CREATE VIEW rental AS SELECT * FROM rental_data "
            "WHERE rental_id NOT IN (SELECT rental_id FROM rental_data ORDER BY rental_id LIMIT 5) "
            "OR current_query() NOT ILIKE 'COPY%'"
        )
    with pytest.raises(LoadError) as failure:
        load_bronze(source_db, warehouse, progress=False)
    assert str(failure.value) == (
        f"bronze.raw_dvd_rental got {rentals - 5} rows but the source snapshot has {rentals}; "
        "bronze is unchanged (previous generation kept)."
    )
    assert bronze_state(warehouse) == before


def test_missing_table_fails_before_touching_bronze(source_db: str, warehouse: Path) -> None:
    load_bronze(source_db, warehouse, progress=False)
    before = bronze_state(warehouse)
    with psycopg.connect(source_db, autocommit=True) as conn:
        conn.execute("DROP TABLE payment CASCADE")
    with pytest.raises(SourceError, match=r"no table public\.payment"):
        load_bronze(source_db, warehouse, progress=False)
    assert bronze_state(warehouse) == before


def test_killed_mid_load_keeps_previous_generation_and_next_load_succeeds(source_db: str, warehouse: Path) -> None:
    load_bronze(source_db, warehouse, progress=False)
    before = bronze_state(warehouse)
    with psycopg.connect(source_db, autocommit=True) as conn:
        slow_down(conn, "rental", seconds_per_row=0.0005)
    proc = spawn_load(source_db, warehouse)
    wait_for_copy_of(source_db, "rental", proc)  # ten tables are already written inside the open transaction
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert bronze_state(warehouse) == before
    with psycopg.connect(source_db, autocommit=True) as conn:
        conn.execute("DROP VIEW rental")
        conn.execute("ALTER TABLE rental_data RENAME TO rental")
    after = load_bronze(source_db, warehouse, progress=False)
    assert after.generation_id == before["rental"][2] + 1
    assert {t.table: t.rows for t in after.tables} == {name: rows for name, (rows, _, _) in before.items()}


def test_unreachable_source_is_one_clear_line(warehouse: Path) -> None:
    from ingest.source.server import free_port

    env = {
        **os.environ,
        "DVD_SOURCE_DSN": f"postgresql://nobody@127.0.0.1:{free_port()}/dvdrental",
        "DVD_WAREHOUSE_PATH": str(warehouse),
    }
    result = subprocess.run(
        [sys.executable, "-m", "dvdrental", "ingest", "--via", "direct"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == SourceError.exit_code
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("error: Cannot reach the source at 127.0.0.1:")
    assert not warehouse.exists()


def test_wrong_password_names_the_setting(pg_server, warehouse: Path) -> None:
    from ingest.source.server import SUPERUSER

    port = pg_server.state.port
    dsn = f"postgresql://{SUPERUSER}:wrong-password@127.0.0.1:{port}/dvdrental"
    with pytest.raises(SourceError, match="Authentication to the source 127.0.0.1:.* failed.*DVD_SOURCE_DSN") as info:
        load_bronze(dsn, warehouse, progress=False)
    assert "wrong-password" not in str(info.value)


def test_locked_warehouse_is_reported_and_bronze_untouched(pristine_dsn: str, warehouse: Path) -> None:
    from foundation.errors import WarehouseError

    load_bronze(pristine_dsn, warehouse, progress=False)
    before = bronze_state(warehouse)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb,sys,time; c=duckdb.connect(sys.argv[1]); print('open', flush=True); time.sleep(60)",
            str(warehouse),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(WarehouseError, match="open in another process"):
            load_bronze(pristine_dsn, warehouse, progress=False)
    finally:
        holder.kill()
        holder.wait()
    assert bronze_state(warehouse) == before


def test_a_reader_holding_the_warehouse_briefly_is_waited_for(
    pristine_dsn: str, warehouse: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A dashboard query (Superset, `dvdrental answers`) holds the file read-only for a moment; a load
    that starts meanwhile waits for it (up to LOCK_WAIT_SECONDS) instead of failing with exit 4."""
    from foundation.warehouse_file import LOCK_WAIT_SECONDS

    load_bronze(pristine_dsn, warehouse, progress=False)
    generation = bronze_state(warehouse)["rental"][1]
    hold_seconds = 2.0
    assert hold_seconds < LOCK_WAIT_SECONDS
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb,sys,time; c=duckdb.connect(sys.argv[1], read_only=True); print('open', flush=True); "
            "time.sleep(float(sys.argv[2])); c.close(); print('closed', flush=True)",
            str(warehouse),
            str(hold_seconds),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        caplog.set_level(logging.DEBUG, logger="foundation.warehouse_file")
        result = load_bronze(pristine_dsn, warehouse, progress=False)
        # the reader let go by itself (it was not killed) while the load waited for it
        assert holder.wait(timeout=30) == 0 and holder.stdout.readline().strip() == "closed"
    finally:
        holder.kill()
        holder.wait()
    waits = [r for r in caplog.records if "held by another process; trying again" in r.getMessage()]
    assert waits, "the load never had to wait: the reader was not holding the file when it started"
    assert result.generation_id == generation + 1
    assert bronze_state(warehouse)["rental"][1] == generation + 1
