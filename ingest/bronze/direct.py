"""The direct full load: PostgreSQL -> ``bronze.raw_dvd_*`` in the local DuckDB warehouse.

It stands in for the production Airbyte sync and writes the same layout
(:mod:`ingest.bronze.layout`). Two promises shape it:

* **Consistent**: all tables are read inside one DuckDB transaction, and the
  postgres extension reads them through one REPEATABLE READ snapshot of the
  source, so a rental never points at a customer the load has not seen.
* **Atomic**: the new generation replaces the old one in all tables in that
  same DuckDB transaction. A failure, Ctrl-C or SIGKILL before COMMIT leaves
  the previous generation complete in every table (DuckDB discards the
  uncommitted WAL on the next open).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import psycopg

from foundation.errors import (
    LoadError,
    SchemaDriftError,
    SourceError,
    WarehouseError,
    first_line,
)
from foundation.paths import warehouse_path
from foundation.signals import interrupt_behind
from ingest.bronze.duckdb_postgres import (
    SOURCE_ALIAS,
    attach_source,
    describe_source,
    open_warehouse,
)
from ingest.bronze.layout import (
    META_COLUMNS,
    SOURCE_COLUMNS_SQL,
    SourceColumn,
    declared_source_column_types,
    declared_source_columns,
    missing_declared_columns,
    retyped_declared_columns,
)
from ingest.bronze.snapshot_counts import CountFailed, SnapshotCounts
from ingest.tables import BRONZE_SCHEMA, SOURCE_SCHEMA, SOURCE_TABLES, SourceTable

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TableLoad:
    table: str
    rows: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


@dataclass(frozen=True)
class LoadResult:
    generation_id: int
    sync_id: int
    extracted_at: datetime
    tables: tuple[TableLoad, ...]
    seconds: float
    source: str = field(default="")

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def summary(self) -> str:
        width = max(len(t.table) for t in self.tables)
        lines = [f"bronze generation {self.generation_id} loaded from {self.source} in {self.seconds:.2f}s"]
        for t in self.tables:
            lines.append(
                f"  {t.table:<{width}}  {t.rows:>10,} rows  {t.seconds:6.2f}s  {t.rows_per_second:>12,.0f} rows/s"
            )
        lines.append(f"  {'total':<{width}}  {self.rows:>10,} rows  (counts match the source snapshot)")
        return "\n".join(lines)


def load_bronze(
    source_dsn: str,
    warehouse: Path | None = None,
    tables: tuple[SourceTable, ...] = SOURCE_TABLES,
    progress: bool | None = None,
) -> LoadResult:
    """Full-load ``tables`` from ``source_dsn`` into bronze as one new generation."""
    warehouse = warehouse or warehouse_path()
    where = describe_source(source_dsn)
    columns = read_source_columns(source_dsn, tables)
    _refuse_schema_drift(columns, where)  # before the warehouse is opened: bronze keeps its generation
    started = time.monotonic()
    con = open_warehouse(warehouse)
    try:
        generation = _current_generation(con, tables) + 1  # before the attach: the catalog then lists only ours
        try:
            attach_source(con, source_dsn)
        except duckdb.Error as error:
            raise SourceError(f"Cannot attach the source {where}: {first_line(error)}") from None
        sync_id = int(time.time() * 1000)
        extracted_at = datetime.now(UTC)
        meta = json.dumps({"sync_id": sync_id, "changes": []})
        show = sys.stderr.isatty() if progress is None else progress
        loads: list[TableLoad] = []
        con.execute("BEGIN TRANSACTION")
        try:
            snapshot = _export_snapshot(con, where)
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {BRONZE_SCHEMA}")
            try:
                with SnapshotCounts(source_dsn, snapshot, tables) as counts:
                    for table in tables:
                        loads.append(
                            _load_table(
                                con, table, columns[table.name], generation, extracted_at, meta, show, where, counts
                            )
                        )
                con.execute("COMMIT")
            except duckdb.Error as error:  # disk full, read-only, failed commit
                raise _warehouse_write_error(warehouse, error) from None
        except BaseException as error:
            _rollback(con)
            interrupt = interrupt_behind(error)
            if interrupt is not None and interrupt is not error:  # DuckDB's "Query interrupted"
                raise interrupt from None
            raise
    finally:
        con.close()
    result = LoadResult(
        generation_id=generation,
        sync_id=sync_id,
        extracted_at=extracted_at,
        tables=tuple(loads),
        seconds=time.monotonic() - started,
        source=where,
    )
    logger.info("bronze generation %s committed: %s rows", generation, result.rows)
    return result


def read_source_columns(dsn: str, tables: tuple[SourceTable, ...]) -> dict[str, list[SourceColumn]]:
    """Column metadata for every table, checking each exists and is readable."""
    where = describe_source(dsn)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for table in tables:
                qualified = f"{SOURCE_SCHEMA}.{table.name}"
                exists = _scalar(conn.execute("SELECT to_regclass(%s) IS NOT NULL", (qualified,)))
                if not exists:
                    raise SourceError(
                        f"The source {where} has no table {qualified}. "
                        f"Restore the DVD rental sample there or fix DVD_SOURCE_DSN."
                    )
                allowed = _scalar(conn.execute("SELECT has_table_privilege(%s, 'SELECT')", (qualified,)))
                if not allowed:
                    raise SourceError(
                        f"Permission denied on {qualified} in the source {where}: "
                        f"GRANT SELECT on it to the user in DVD_SOURCE_DSN."
                    )
            rows = conn.execute(SOURCE_COLUMNS_SQL, (SOURCE_SCHEMA, [t.name for t in tables])).fetchall()
            columns: dict[str, list[SourceColumn]] = {t.name: [] for t in tables}
            for table_name, column_name, data_type, domain_name, precision, scale in rows:
                columns[table_name].append(SourceColumn(column_name, data_type, domain_name, precision, scale))
            return columns
    except psycopg.OperationalError as error:
        raise SourceError(_explain_connect_error(error, where)) from None


def _refuse_schema_drift(columns: dict[str, list[SourceColumn]], where: str) -> None:
    """A column external_models.yaml declares is gone from the source, or would reach bronze with
    another type: stop before loading anything."""
    missing = missing_declared_columns(columns, declared_source_columns())
    if missing:
        names = ", ".join(f"{SOURCE_SCHEMA}.{table}.{column}" for table, column in missing)
        verb, it = ("is", "it") if len(missing) == 1 else ("are", "them")
        raise SchemaDriftError(
            f"{names} {verb} missing in the source (renamed or dropped?): the staging models and "
            f"external_models.yaml expect {it}. Restore {it} in the source {where}, or change the models "
            f"and external_models.yaml to match. Bronze is unchanged (previous generation kept)."
        )
    retyped = retyped_declared_columns(columns, declared_source_column_types())
    if retyped:
        changes = ", ".join(
            f"{SOURCE_SCHEMA}.{table}.{column} would load as {now} (declared {declared})"
            for table, column, declared, now in retyped
        )
        raise SchemaDriftError(
            f"The source type of {changes}: the staging models cast the declared type. Change the source "
            f"{where} back, or change the models and external_models.yaml to match. "
            f"Bronze is unchanged (previous generation kept)."
        )


def _explain_connect_error(error: Exception, where: str) -> str:
    text = str(error).strip()
    lowered = text.lower()
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        return (
            f"Authentication to the source {where} failed: "
            "check the user and password in DVD_SOURCE_DSN (or the passfile)."
        )
    if "does not exist" in lowered and "database" in lowered:
        return f"The source database at {where} does not exist: {text.splitlines()[-1]}"
    if "connection refused" in lowered or "could not connect" in lowered or "timeout" in lowered:
        return (
            f"Cannot reach the source at {where}: is the server running? "
            f"(`dvdrental source start` for the local one, or fix DVD_SOURCE_DSN.)"
        )
    return f"Cannot connect to the source {where}: {text.splitlines()[-1] if text else type(error).__name__}"


def _current_generation(con: duckdb.DuckDBPyConnection, tables: tuple[SourceTable, ...]) -> int:
    # The schema name is our own constant, written into the SQL: the first parameterised
    # execute() of a process makes duckdb's Python module import pandas and numpy (0.7-1.7 s).
    existing = {
        row[0]
        for row in con.execute(
            f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{BRONZE_SCHEMA}'"
        ).fetchall()
    }
    generations = [
        _scalar(con.execute(f"SELECT max(_airbyte_generation_id) FROM {t.bronze_fqn}"))
        for t in tables
        if t.bronze_name in existing
    ]
    return max((g for g in generations if g is not None), default=0)


def _export_snapshot(con: duckdb.DuckDBPyConnection, where: str) -> str:
    """The id of the source snapshot this load's transaction reads (the extension's REPEATABLE READ
    transaction connection, opened here), for :class:`SnapshotCounts` to count in."""
    try:
        return str(
            _scalar(con.execute(f"SELECT * FROM postgres_query('{SOURCE_ALIAS}', 'SELECT pg_export_snapshot()')"))
        )
    except duckdb.Error as error:
        raise SourceError(f"Cannot open a snapshot of the source {where}: {first_line(error)}") from None


def _load_table(
    con: duckdb.DuckDBPyConnection,
    table: SourceTable,
    columns: list[SourceColumn],
    generation: int,
    extracted_at: datetime,
    meta: str,
    show_progress: bool,
    where: str,
    counts: SnapshotCounts,
) -> TableLoad:
    source_ref = f'{SOURCE_ALIAS}.{SOURCE_SCHEMA}."{table.name}"'
    started = time.monotonic()
    try:
        # The source's count(*) of the same snapshot runs beside the copy (SnapshotCounts): counted
        # by PostgreSQL itself (through the scanner, count(*) would stream one NULL per row by COPY).
        values = metadata_values(generation, extracted_at, meta)
        select_list = ",\n  ".join(
            [f"{values[PER_ROW_META]} AS {PER_ROW_META}", *(c.duckdb_select("src") for c in columns)]
        )
        stored = ", ".join([PER_ROW_META, *(f'"{c.name}"' for c in columns)])
        # Declared first with the layout's types, then filled: the table's types are the layout's
        # whatever the SELECT's expressions would infer.
        con.execute(f"CREATE OR REPLACE TABLE {table.bronze_fqn} (\n  {_column_definitions(columns, values)}\n)")
        sql = f"INSERT INTO {table.bronze_fqn} ({stored})\nSELECT\n  {select_list}\nFROM {source_ref} AS src"
        with _Progress(con, table.name, lambda: counts.done(table), show_progress):
            con.execute(sql)
        loaded = _scalar(con.execute(f"SELECT count(*) FROM {table.bronze_fqn}"))
        expected = counts.rows(table)
    except (duckdb.Error, CountFailed) as error:
        if isinstance(error, duckdb.Error) and _is_disk_full(error):
            raise  # a warehouse problem, not the source's: load_bronze reports it
        raise LoadError(
            f"Loading {SOURCE_SCHEMA}.{table.name} from the source {where} failed: {first_line(error)}. "
            f"Bronze is unchanged (previous generation kept)."
        ) from None
    if loaded != expected:
        raise LoadError(
            f"{table.bronze_fqn} got {loaded} rows but the source snapshot has {expected}; "
            f"bronze is unchanged (previous generation kept)."
        )
    return TableLoad(table.name, loaded, time.monotonic() - started)


# The one metadata column with a value per row; the other three are one value per load.
PER_ROW_META = "_airbyte_raw_id"


def metadata_values(generation: int, extracted_at: datetime, meta: str) -> dict[str, str]:
    """The SQL expression of each of Airbyte's metadata columns, in the layout's order."""
    return {
        PER_ROW_META: "uuid()",
        "_airbyte_extracted_at": f"CAST('{extracted_at.isoformat()}' AS TIMESTAMPTZ)",
        "_airbyte_meta": f"CAST('{meta}' AS VARCHAR)",
        "_airbyte_generation_id": f"CAST({generation} AS BIGINT)",
    }


def metadata_select(generation: int, extracted_at: datetime, meta: str) -> dict[str, str]:
    """Each metadata column as a SELECT item: benchmarks.profile_loader times the parts of the copy
    as if every column were written per row (the layout before the constants moved into the definition)."""
    return {name: f"{value} AS {name}" for name, value in metadata_values(generation, extracted_at, meta).items()}


def _column_definitions(columns: list[SourceColumn], values: dict[str, str]) -> str:
    """The bronze table's columns: Airbyte's metadata first, then the source's, typed per layout.py.

    The three metadata columns that hold one value for the whole load (extracted_at, meta,
    generation_id) are virtual generated columns: DuckDB keeps the value once, in the table's
    definition, and every reader gets it on every row, with the layout's name, type and order.
    Written per row they cost the copy about 1.7 of its 5 CPU-seconds at x600 (a constant VARCHAR
    is flattened and compressed row by row), which is what kept the loader below 0.8x its
    reader's ceiling (benchmarks/RESULTS.md, issue 26). The random raw id is stored."""
    definitions = []
    for name, _, duckdb_type in META_COLUMNS:
        if name == PER_ROW_META:
            definitions.append(f'"{name}" {duckdb_type}')
        else:
            definitions.append(f'"{name}" {duckdb_type} GENERATED ALWAYS AS ({values[name]}) VIRTUAL')
    definitions.extend(f'"{column.name}" {column.bronze_type.duckdb}' for column in columns)
    return ",\n  ".join(definitions)


def _is_disk_full(error: BaseException) -> bool:
    text = str(error).lower()
    return "no space left" in text or "disk full" in text or "read-only file system" in text


def _warehouse_write_error(warehouse: Path, error: BaseException) -> WarehouseError:
    if _is_disk_full(error):
        return WarehouseError(
            f"Cannot write the warehouse {warehouse}: {first_line(error)}. Free disk space (or make the "
            f"directory writable) and run again; bronze is unchanged (previous generation kept)."
        )
    return WarehouseError(
        f"Committing the new bronze generation to {warehouse} failed: {first_line(error)}. "
        f"Bronze is unchanged (previous generation kept)."
    )


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass


class _Progress:
    """A per-table progress line with rows/s, fed by DuckDB's query progress.

    The copy is one SQL statement, so progress is sampled from another
    thread with ``query_progress()`` and scaled by the source row count.
    """

    def __init__(
        self, con: duckdb.DuckDBPyConnection, name: str, total: Callable[[], int | None], enabled: bool
    ) -> None:
        # total: the source's count once SnapshotCounts has it (None until then: only the bar is drawn)
        self.con, self.name, self.total, self.enabled = con, name, total, enabled
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0.0

    def __enter__(self) -> _Progress:
        self._started = time.monotonic()
        if self.enabled:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._thread:
            self._thread.join()
            if exc[0] is None:
                self._draw(1.0, final=True)

    def _run(self) -> None:
        while not self._done.wait(0.2):
            try:
                fraction = max(0.0, self.con.query_progress()) / 100.0
            except duckdb.Error:
                continue
            self._draw(min(fraction, 1.0))

    def _draw(self, fraction: float, final: bool = False) -> None:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        bar = "#" * int(fraction * 30)
        total = self.total()
        if total is None:
            counts = f"{fraction:>11.0%} of the rows"
        else:
            rows = int(total * fraction)
            counts = f"{rows:>11,}/{total:,} rows {rows / elapsed:>12,.0f} rows/s"
        sys.stderr.write(f"\r  {self.name:<14} [{bar:<30}] {counts}" + ("\n" if final else ""))
        sys.stderr.flush()


def _scalar(cursor: Any) -> Any:
    """The one value a one-row, one-column query returned (an aggregate always returns a row)."""
    row = cursor.fetchone()
    if row is None:
        raise LoadError("a query that always returns one row returned none")
    return row[0]
