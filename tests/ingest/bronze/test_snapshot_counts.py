"""The loader's count check runs beside the copy: it must count the load's snapshot, not the source's present.

Against the real server: a snapshot exported by one REPEATABLE READ transaction (what the postgres
extension's transaction connection is during a load), rows committed after it, then the side
connection's counts. And the load's own promise, end to end: every table's count equals its copy
and the raw ids and ``_airbyte_meta`` keep Airbyte's shape across loads and tables.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import IsolationLevel

from ingest.bronze import load_bronze
from ingest.bronze.snapshot_counts import CountFailed, SnapshotCounts
from ingest.tables import SOURCE_TABLES, TABLES_BY_NAME
from tests.support.warehouses import query as query_warehouse

CUSTOMER, RENTAL = TABLES_BY_NAME["customer"], TABLES_BY_NAME["rental"]


def _counts(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("customer", "rental")}


def test_counts_are_the_exported_snapshots_not_the_present(source_db: str) -> None:
    before = _counts(source_db)
    with psycopg.connect(source_db) as load:  # stands in for the extension's transaction connection
        load.isolation_level = IsolationLevel.REPEATABLE_READ
        snapshot = load.execute("SELECT pg_export_snapshot()").fetchone()[0]
        with psycopg.connect(source_db, autocommit=True) as other:  # committed after the snapshot
            other.execute(
                "INSERT INTO customer (customer_id, store_id, first_name, last_name, address_id, active) "
                "VALUES (9001, 1, 'Snap', 'Shot', 5, 1)"
            )
            other.execute(
                "INSERT INTO rental (rental_id, rental_date, inventory_id, customer_id, staff_id) "
                "VALUES (90001, now(), 1, 9001, 1)"
            )
        with SnapshotCounts(source_db, snapshot, (CUSTOMER, RENTAL)) as counts:
            counted = {"customer": counts.rows(CUSTOMER), "rental": counts.rows(RENTAL)}
    assert counted == before
    assert _counts(source_db) == {"customer": before["customer"] + 1, "rental": before["rental"] + 1}


def test_a_snapshot_that_is_gone_fails_every_count(source_db: str) -> None:
    with psycopg.connect(source_db) as load:
        load.isolation_level = IsolationLevel.REPEATABLE_READ
        snapshot = load.execute("SELECT pg_export_snapshot()").fetchone()[0]
    # The exporting transaction has ended: PostgreSQL no longer knows the snapshot.
    with SnapshotCounts(source_db, snapshot, (CUSTOMER, RENTAL)) as counts:
        for table in (CUSTOMER, RENTAL):
            with pytest.raises(CountFailed, match="snapshot"):
                counts.rows(table)


def test_raw_ids_are_unique_uuids_across_loads_and_tables_and_meta_is_airbytes(
    pristine_dsn: str, warehouse: Path
) -> None:
    first = load_bronze(pristine_dsn, warehouse, progress=False)
    ids = _raw_ids(warehouse)
    second = load_bronze(pristine_dsn, warehouse, progress=False)
    ids += _raw_ids(warehouse)
    assert len(ids) == 2 * first.rows == 2 * second.rows
    assert len(set(ids)) == len(ids), "a raw id repeats across tables or loads"
    assert all(str(uuid.UUID(text)) == text for text in ids), "a raw id is not a UUID's canonical text"
    # Airbyte's destination writes {"sync_id": <the sync's id>, "changes": []} on a row it did not change.
    for table in SOURCE_TABLES:
        [(distinct, meta)] = query_warehouse(
            warehouse, f"SELECT count(DISTINCT _airbyte_meta), any_value(_airbyte_meta) FROM {table.bronze_fqn}"
        )
        assert distinct == 1 and json.loads(meta) == {"sync_id": second.sync_id, "changes": []}, table.name


def _raw_ids(warehouse: Path) -> list[str]:
    union = " UNION ALL ".join(f"SELECT CAST(_airbyte_raw_id AS VARCHAR) FROM {t.bronze_fqn}" for t in SOURCE_TABLES)
    return [text for (text,) in query_warehouse(warehouse, union)]
