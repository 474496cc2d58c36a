"""Copy bronze from the DuckDB warehouse into Spark, keeping Airbyte's Databricks types.

Production bronze is written into Databricks by Airbyte; locally the direct loader writes
it into DuckDB. To run the models on Spark, each ``bronze.raw_dvd_*`` table is exported
from DuckDB as Parquet and re-created in Spark as ``bronze.raw_dvd_*`` with every column
cast to the type external_models.yaml declares (the Airbyte Databricks destination's types:
BIGINT, DECIMAL(38,10), TIMESTAMP_NTZ, TIMESTAMP, STRING, ...).

The casts matter: Parquet carries "timestamp adjusted to UTC or not", which Spark maps to
TIMESTAMP or TIMESTAMP_NTZ on its own; the explicit cast makes the Spark table's schema the
declared one whatever the reader inferred.

Run ``python -m dvdrental.local_databricks.bronze`` (with ``DVD_SPARK_DIR`` set) before
``sqlmesh --gateway spark plan``.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import typing as t
from pathlib import Path

import duckdb

from foundation.duckdb_memory import duckdb_config
from foundation.errors import PipelineError, WarehouseError
from foundation.paths import warehouse_path
from ingest.bronze.layout import declared_bronze_columns
from ingest.tables import BRONZE_SCHEMA, SOURCE_TABLES, SourceTable

if t.TYPE_CHECKING:
    from pyspark.sql import SparkSession

logger = logging.getLogger(__name__)


def declared_columns() -> dict[str, list[tuple[str, str]]]:
    """``{bronze fqn: [(column, Databricks type), ...]}`` as external_models.yaml declares them."""
    return {f"{BRONZE_SCHEMA}.{table}": list(columns.items()) for table, columns in declared_bronze_columns().items()}


def export_parquet(warehouse: Path, out_dir: Path, tables: t.Sequence[SourceTable] = SOURCE_TABLES) -> dict[str, Path]:
    """Write each bronze table of the DuckDB ``warehouse`` to ``out_dir/<table>.parquet``."""
    if not warehouse.exists():
        raise WarehouseError(f"No warehouse at {warehouse}: run `dvdrental ingest` first.")
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    try:
        con = duckdb.connect(str(warehouse), read_only=True, config=duckdb_config(warehouse))
    except duckdb.Error as error:
        raise WarehouseError(f"Cannot open the warehouse {warehouse} read-only: {error}") from None
    try:
        for table in tables:
            target = out_dir / f"{table.bronze_name}.parquet"
            # The raw id is DuckDB's UUID locally (ingest.bronze.layout); Parquet would carry it as
            # 16 bytes, so it leaves as the text Databricks holds.
            select = f"SELECT * REPLACE (CAST(_airbyte_raw_id AS VARCHAR) AS _airbyte_raw_id) FROM {table.bronze_fqn}"
            con.execute(f"COPY ({select}) TO '{target}' (FORMAT parquet)")
            files[table.bronze_fqn] = target
    finally:
        con.close()
    return files


def register(
    spark: SparkSession,
    files: dict[str, Path],
    columns: dict[str, list[tuple[str, str]]] | None = None,
) -> dict[str, int]:
    """(Re)create each ``bronze.raw_dvd_*`` Spark table from its Parquet file, typed as declared.

    The data is copied into the Spark warehouse (CTAS), so the Parquet files can go afterwards.
    Returns the row count of each table.
    """
    return copy_tables(lambda sql: [tuple(row) for row in spark.sql(sql).collect()], files, columns)


def copy_tables(
    run: t.Callable[[str], list[tuple]],
    files: dict[str, Path],
    columns: dict[str, list[tuple[str, str]]] | None = None,
) -> dict[str, int]:
    """(Re)create each ``bronze.raw_dvd_*`` table from its Parquet file through ``run`` (a
    statement in, its rows out: a SparkSession's or a SQL connector cursor's), typed as declared."""
    columns = columns or declared_columns()
    run(f"CREATE DATABASE IF NOT EXISTS {BRONZE_SCHEMA}")
    counts: dict[str, int] = {}
    for fqn, path in files.items():
        declared = columns[fqn]
        select = ",\n  ".join(f"CAST(`{name}` AS {type_}) AS `{name}`" for name, type_ in declared)
        run(f"DROP TABLE IF EXISTS {fqn}")
        run(f"CREATE TABLE {fqn} USING parquet AS\nSELECT\n  {select}\nFROM parquet.`{path}`")
        counts[fqn] = int(run(f"SELECT COUNT(*) FROM {fqn}")[0][0])
        logger.info("spark %s: %s rows", fqn, counts[fqn])
    return counts


def load_into_spark(spark: SparkSession, warehouse: Path | None = None) -> dict[str, int]:
    """Copy every bronze table of the DuckDB warehouse into ``spark``; row counts per table."""
    return load_through(lambda sql: [tuple(row) for row in spark.sql(sql).collect()], warehouse)


def load_through(run: t.Callable[[str], list[tuple]], warehouse: Path | None = None) -> dict[str, int]:
    """Copy every bronze table of the DuckDB warehouse through ``run`` (e.g. a SQL connector cursor
    on the local Databricks endpoint, which reads the Parquet files from this machine)."""
    warehouse = warehouse or warehouse_path()
    staging = Path(tempfile.mkdtemp(prefix="dvd-bronze-parquet-"))
    try:
        return copy_tables(run, export_parquet(warehouse, staging))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def main(argv: t.Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dvdrental.local_databricks.bronze",
        description="Copy bronze.raw_dvd_* from the DuckDB warehouse into the local Spark of the spark gateway.",
    )
    parser.add_argument("--warehouse", type=Path, help="DuckDB warehouse (default: $DVD_WAREHOUSE_PATH)")
    parser.add_argument(
        "--gateway", default="spark", help="a local Spark gateway of config.yaml: spark (default) or databricks_spark"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from dvdrental.local_databricks.session import spark_session  # starts pyspark's import only when asked to

    try:
        counts = load_into_spark(spark_session(args.gateway), args.warehouse)
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    print(f"{len(counts)} bronze tables, {sum(counts.values()):,} rows copied into Spark")
    return 0


if __name__ == "__main__":
    sys.exit(main())
