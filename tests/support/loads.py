"""Watching and steering bronze loads from a test: counts, generations, a slowed source, a load in a child process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from foundation.paths import PROJECT_ROOT
from ingest.tables import SOURCE_TABLES
from tests.support.warehouses import query as query_warehouse


def source_counts(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        return {t.name: conn.execute(f"SELECT count(*) FROM public.{t.name}").fetchone()[0] for t in SOURCE_TABLES}


def bronze_state(warehouse: Path) -> dict[str, tuple[int, int, int]]:
    """table -> (rows, min generation, max generation)."""
    return {
        t.name: query_warehouse(
            warehouse,
            f"SELECT count(*), min(_airbyte_generation_id), max(_airbyte_generation_id) FROM {t.bronze_fqn}",
        )[0]
        for t in SOURCE_TABLES
    }


def slow_down(conn: psycopg.Connection, table: str, seconds_per_row: float) -> None:
    """Replace ``table`` by a view that sleeps per row, so a test can act mid-read."""
    conn.execute(
        "CREATE OR REPLACE FUNCTION slow_row(anyelement) RETURNS boolean LANGUAGE plpgsql VOLATILE AS "
        f"$$ BEGIN PERFORM pg_sleep({seconds_per_row}); RETURN true; END $$"
    )
    conn.execute(f"ALTER TABLE {table} RENAME TO {table}_data")
    conn.execute(f"CREATE VIEW {table} AS SELECT t.* FROM {table}_data t WHERE slow_row(t.{table}_id)")


def spawn_load(dsn: str, warehouse: Path) -> subprocess.Popen:
    env = {**os.environ, "DVD_SOURCE_DSN": dsn, "DVD_WAREHOUSE_PATH": str(warehouse)}
    return subprocess.Popen(
        [sys.executable, "-m", "dvdrental", "ingest", "--via", "direct", "--no-progress"],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_copy_of(dsn: str, table: str, proc: subprocess.Popen | None = None, timeout: float = 120.0) -> None:
    """Block until the loader's COPY of ``table`` is running in the source."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise AssertionError(
                    f"the load ended (exit {proc.returncode}) before copying {table}: {proc.stderr.read()}"
                )
            rows = conn.execute(
                "SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND query ILIKE %s",
                (f"%COPY%{table}%",),
            ).fetchall()
            if rows:
                return
            time.sleep(0.02)
    raise AssertionError(f"the load never started copying {table}")
