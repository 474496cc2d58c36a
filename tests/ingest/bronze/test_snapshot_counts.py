"""The loader's count check runs beside the copy: it must count the load's snapshot, not the source's present.

Against the real server: a snapshot exported by one REPEATABLE READ transaction (what the postgres
extension's transaction connection is during a load), rows committed after it, then the side
connection's counts. And the load's own promise, end to end: every table's count equals its copy
and the raw ids and ``_airbyte_meta`` keep Airbyte's shape across loads and tables.
"""

from __future__ import annotations

import json
import logging
import time
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


def test_a_count_whose_connection_is_killed_fails_with_one_line_and_no_library_warning(
    source_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The source drops the side connection mid-count (a restart, a DBA's pg_terminate_backend): the
    count fails naming why, and psycopg logs nothing of its own."""
    with psycopg.connect(source_db, autocommit=True) as conn:  # a count that takes 3 s to answer
        conn.execute("ALTER TABLE rental RENAME TO rental_data")
        conn.execute("CREATE VIEW rental AS SELECT t.* FROM rental_data t, (SELECT pg_sleep(3)) AS pause")
    caplog.set_level(logging.WARNING)
    with psycopg.connect(source_db) as load, psycopg.connect(source_db, autocommit=True) as admin:
        load.isolation_level = IsolationLevel.REPEATABLE_READ
        snapshot = load.execute("SELECT pg_export_snapshot()").fetchone()[0]
        with SnapshotCounts(source_db, snapshot, (RENTAL,)) as counts:
            killed = 0
            for _ in range(100):
                killed = admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND query LIKE 'SELECT count(*) FROM public.\"rental\"%'"
                ).fetchone()[0]
                if killed:
                    break
                time.sleep(0.1)
            assert killed == 1, "the count never started"
            with pytest.raises(CountFailed, match="terminat"):
                counts.rows(RENTAL)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("psycopg")] == []


def test_a_failed_count_never_asks_a_dead_connection_to_roll_back(
    source_db: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When a count fails and the server is gone by then, a rollback fails too. Inside ``with connect()``
    psycopg then logged 'WARNING psycopg: error ignored in rollback' to stderr, ahead of the load's one
    error line (the CLI's first stderr line; seen once in test_faults_ingest's dropped connection, where
    the load's cancel and the kill crossed). A failed count now only closes its connection."""
    with psycopg.connect(source_db) as load:
        load.isolation_level = IsolationLevel.REPEATABLE_READ
        snapshot = load.execute("SELECT pg_export_snapshot()").fetchone()[0]
    # the count fails (the snapshot is gone), and so would any rollback: the server went away meanwhile

    def rollback_on_a_dead_server(self: psycopg.Connection) -> None:
        raise psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly")

    monkeypatch.setattr(psycopg.Connection, "rollback", rollback_on_a_dead_server)
    caplog.set_level(logging.WARNING)
    with SnapshotCounts(source_db, snapshot, (RENTAL,)) as counts:
        with pytest.raises(CountFailed, match="snapshot"):
            counts.rows(RENTAL)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("psycopg")] == []


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
