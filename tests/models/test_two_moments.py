"""Bronze read at two moments, as on the Airbyte path (its streams are read one after another,
not from one snapshot), reproduced with the local loader: the reference tables are loaded, then a
customer with a new address rents a copy and pays, then rental and payment are loaded.

The daily run goes through (no referential audit fails on a busy evening), the new rental waits
and no orphan reaches gold; the next run, on a full load, takes it in, and gold equals plain SQL
on the source. The referential audits still fail on a real orphan (tests/models/test_bad_data.py).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import psycopg

from dvdrental.warehouse import context as transform
from ingest.bronze import load_bronze
from ingest.tables import SOURCE_TABLES
from tests.support.warehouses import (
    copy_warehouse,
    query,
    sqlmesh_context,
    tomorrow,
)

LATE_STREAMS = ("payment", "rental")  # read last by Airbyte (streams in name order)
EARLY = tuple(table for table in SOURCE_TABLES if table.name not in LATE_STREAMS)
LATE = tuple(table for table in SOURCE_TABLES if table.name in LATE_STREAMS)

NEW_CUSTOMER_SQL = """
WITH new_address AS (
  INSERT INTO address (address, district, city_id, phone) VALUES ('1 Late Street', 'Nowhere', 1, '555')
  RETURNING address_id
), new_customer AS (
  INSERT INTO customer (store_id, first_name, last_name, address_id, active)
  SELECT 1, 'Late', 'Comer', address_id, 1 FROM new_address
  RETURNING customer_id
), new_rental AS (
  INSERT INTO rental (rental_date, inventory_id, customer_id, staff_id)
  SELECT now(), 1, customer_id, 1 FROM new_customer
  RETURNING rental_id, customer_id
)
INSERT INTO payment (customer_id, staff_id, rental_id, amount, payment_date)
SELECT customer_id, 1, rental_id, 4.99, now() FROM new_rental
RETURNING rental_id
"""

GOLD_REVENUE_SQL = "SELECT count(*), sum(payment_amount) FROM gold.fact_rental"
SOURCE_REVENUE_SQL = """
SELECT (SELECT count(*) FROM rental),
       (SELECT sum(payment.amount) FROM payment JOIN rental ON rental.rental_id = payment.rental_id)
"""


def test_rental_read_before_its_customer_waits_for_the_next_run(
    source_db: str,
    sample_warehouse: Path,
    tmp_path: Path,  # noqa: F811
) -> None:
    warehouse = copy_warehouse(sample_warehouse, tmp_path / "dvdrental.duckdb")
    load_bronze(source_db, warehouse, tables=EARLY, progress=False)  # first moment
    with psycopg.connect(source_db, autocommit=True) as conn:
        [(rental_id,)] = conn.execute(NEW_CUSTOMER_SQL).fetchall()
    load_bronze(source_db, warehouse, tables=LATE, progress=False)  # second moment
    assert query(warehouse, f"SELECT count(*) FROM bronze.raw_dvd_rental WHERE rental_id = {rental_id}") == [(1,)]

    first_day = tomorrow()
    with sqlmesh_context(warehouse) as ctx:
        assert transform.run_prod(ctx=ctx, execution_time=first_day).is_success  # no audit failed
    # The rental waits: not in staging, silver or gold; its payment is kept but in no revenue.
    for table in ("staging.dvd_rental", "silver.dvd_rental", "gold.fact_rental"):
        assert query(warehouse, f"SELECT count(*) FROM {table} WHERE rental_id = {rental_id}") == [(0,)], table
    assert query(warehouse, f"SELECT count(*) FROM silver.dvd_payment WHERE rental_id = {rental_id}") == [(1,)]
    orphans = query(
        warehouse,
        "SELECT count(*) FROM gold.fact_rental AS fact "
        "LEFT JOIN gold.dim_address AS address ON address.address_id = fact.address_id "
        "WHERE address.address_id IS NULL",
    )
    assert orphans == [(0,)]
    with psycopg.connect(source_db) as conn:
        [(source_rentals, _)] = conn.execute(SOURCE_REVENUE_SQL).fetchall()
        [(revenue_without_it,)] = conn.execute(
            f"SELECT sum(payment.amount) FROM payment JOIN rental ON rental.rental_id = payment.rental_id "
            f"WHERE rental.rental_id <> {rental_id}"
        ).fetchall()
    assert query(warehouse, GOLD_REVENUE_SQL) == [(source_rentals - 1, revenue_without_it)]

    load_bronze(source_db, warehouse, progress=False)  # the next sync: every stream has caught up
    with sqlmesh_context(warehouse) as ctx:
        # The next day's run. SQLMesh ends a run's intervals at the wall clock unless told otherwise,
        # and the first run took the last complete day: this one is given its end.
        next_day = first_day + timedelta(days=1)
        assert ctx.run(transform.PROD, end=next_day, execution_time=next_day).is_success
    [(customer_id, amount)] = query(
        warehouse, f"SELECT customer_id, payment_amount FROM gold.fact_rental WHERE rental_id = {rental_id}"
    )
    assert amount == Decimal("4.99")
    assert query(warehouse, f"SELECT count(*) FROM gold.dim_customer WHERE customer_id = {customer_id}") == [(1,)]
    with psycopg.connect(source_db) as conn:
        [source] = conn.execute(SOURCE_REVENUE_SQL).fetchall()
    assert query(warehouse, GOLD_REVENUE_SQL) == [source]
