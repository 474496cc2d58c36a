"""One measured load in its own process: ``python -m benchmarks.load_one WAY DSN WAREHOUSE TABLES``.

WAY is ``direct`` (the project's loader, ``load_bronze``), ``plain`` (the loader's own reader
without the layout: the same extension file and warehouse settings, ``CREATE TABLE AS SELECT *``;
the reader's ceiling), ``adbc`` (ADBC PostgreSQL driver -> Arrow stream -> DuckDB) or ``dlt``
(dlt sql_table, pyarrow backend -> DuckDB).
Prints one JSON line: rows and seconds per table.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

MEMORY_LIMIT = "256MB"


def direct(dsn: str, warehouse: Path, names: list[str]) -> dict:
    from ingest.bronze import load_bronze
    from ingest.tables import SOURCE_TABLES, TABLES_BY_NAME

    tables = tuple(TABLES_BY_NAME[n] for n in names) if names else SOURCE_TABLES
    result = load_bronze(dsn, warehouse, tables=tables, progress=False)
    return {
        "rows": result.rows,
        "seconds": result.seconds,
        "tables": {t.table: [t.rows, t.seconds] for t in result.tables},
    }


def plain(dsn: str, warehouse: Path, names: list[str]) -> dict:
    """What the postgres extension does with no layout, no metadata and no count check, timed like
    ``load_bronze`` (open, attach, copy, commit)."""
    from ingest.bronze.duckdb_postgres import SOURCE_ALIAS, attach_source, open_warehouse

    out = {}
    started = time.monotonic()
    con = open_warehouse(warehouse)
    attach_source(con, dsn)
    con.execute("BEGIN TRANSACTION")
    for name in names:
        t = time.monotonic()
        con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM {SOURCE_ALIAS}.public."{name}"')
        out[name] = [con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0], time.monotonic() - t]
    con.execute("COMMIT")
    con.close()
    return {"rows": sum(v[0] for v in out.values()), "seconds": time.monotonic() - started, "tables": out}


def adbc(dsn: str, warehouse: Path, names: list[str]) -> dict:
    import adbc_driver_postgresql.dbapi as pg
    import duckdb

    out = {}
    started = time.monotonic()
    con = duckdb.connect(str(warehouse))
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    with pg.connect(dsn) as conn, conn.cursor() as cur:
        for name in names:
            t = time.monotonic()
            cur.execute(f"SELECT * FROM public.{name}")
            reader = cur.fetch_record_batch()  # noqa: F841 (read by DuckDB's replacement scan)
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM reader")
            out[name] = [con.execute(f"SELECT count(*) FROM {name}").fetchone()[0], time.monotonic() - t]
    con.close()
    return {"rows": sum(v[0] for v in out.values()), "seconds": time.monotonic() - started, "tables": out}


def dlt_load(dsn: str, warehouse: Path, names: list[str]) -> dict:
    import dlt
    import duckdb
    from dlt.sources.sql_database import sql_table

    parts = urlsplit(dsn)
    query = parse_qs(parts.query)
    if "passfile" in query:
        os.environ["PGPASSFILE"] = query["passfile"][0]
    url = f"postgresql+psycopg2://{parts.netloc}{parts.path}"
    started = time.monotonic()
    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{os.getpid()}",
        destination=dlt.destinations.duckdb(str(warehouse)),
        dataset_name="bench",
        pipelines_dir=str(warehouse.parent / ".dlt"),
        progress=None,
    )
    out = {}
    for name in names:
        t = time.monotonic()
        pipeline.run(sql_table(credentials=url, table=name, backend="pyarrow"), write_disposition="replace")
        with duckdb.connect(str(warehouse), read_only=True) as con:
            out[name] = [con.execute(f"SELECT count(*) FROM bench.{name}").fetchone()[0], time.monotonic() - t]
    return {"rows": sum(v[0] for v in out.values()), "seconds": time.monotonic() - started, "tables": out}


def main() -> None:
    way, dsn, warehouse, names = sys.argv[1], sys.argv[2], Path(sys.argv[3]), [n for n in sys.argv[4].split(",") if n]
    result = {"direct": direct, "plain": plain, "adbc": adbc, "dlt": dlt_load}[way](dsn, warehouse, names)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
