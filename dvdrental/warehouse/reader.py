"""One way to read the warehouse: :func:`open_reader`, closed on exit.

``dvdrental answers`` and the dashboard only read ``gold`` (and count rows per layer). On the
local DuckDB gateway they open the file **read-only** — no SQLMesh context, no write lock, so
they work while nothing else runs and never block a writer for longer than a query. On other
engines (Databricks, Spark) they go through the engine adapter of a SQLMesh context for that
gateway, released when the block ends.
"""

from __future__ import annotations

import contextlib
import typing as t
from pathlib import Path

from dvdrental.warehouse.context import open_context
from dvdrental.warehouse.gateways import LOCAL, check_gateway
from foundation.duckdb_memory import duckdb_config
from foundation.errors import ConfigError, WarehouseError, first_line
from foundation.paths import PROJECT_ROOT, export_warehouse_path
from foundation.settings import temporary_env

Rows = tuple[tuple[str, ...], list[tuple]]  # (column names, rows)


class WarehouseReader:
    """Runs read-only queries on one gateway's warehouse; see :func:`open_reader`."""

    def __init__(self, dialect: str, fetch: t.Callable[[str], Rows], tables: t.Callable[[str], list[str]]) -> None:
        self.dialect = dialect  # sqlglot dialect of the engine: duckdb, spark, databricks
        self._fetch = fetch
        self._tables = tables

    def fetch(self, sql: str) -> Rows:
        """Column names and rows of ``sql`` (written in :attr:`dialect`)."""
        return self._fetch(sql)

    def tables(self, schema: str) -> list[str]:
        """Names of the tables and views in ``schema`` (empty when it does not exist yet)."""
        return self._tables(schema)


def duckdb_warehouse(gateway: str | None = None) -> Path | None:
    """The DuckDB file behind ``gateway`` (default: config's), or None for other engines.

    A missing file is a clear error: there is nothing to read before the first build.
    """
    # SQLMesh's config loader, imported here: commands import this module and `--help` stays fast.
    from sqlmesh.core.config import Config
    from sqlmesh.core.config.loader import load_config_from_paths
    from sqlmesh.utils.errors import ConfigError as SQLMeshConfigError

    # An unknown name or a missing setting is a one-line ConfigError, not SQLMesh's traceback.
    chosen = check_gateway(gateway)
    export_warehouse_path()
    # config.yaml renders the databricks/spark gateways only when SQLMESH_GATEWAY names them.
    with temporary_env(SQLMESH_GATEWAY=None if chosen == LOCAL else chosen):
        try:
            config = load_config_from_paths(Config, project_paths=[PROJECT_ROOT / "config.yaml"])
            connection = config.get_connection(gateway)
        except SQLMeshConfigError as error:
            raise ConfigError(f"config.yaml, gateway {chosen}: {first_line(error)}") from None
    if connection.type_ != "duckdb":
        return None
    path = Path(str(getattr(connection, "database", "")))
    if not path.exists():
        raise WarehouseError(f"No warehouse at {path}: run `dvdrental ingest` and build the models first.")
    return path


@contextlib.contextmanager
def open_reader(gateway: str | None = None) -> t.Iterator[WarehouseReader]:
    """A :class:`WarehouseReader` on ``gateway`` (default: config's), closed when the block ends."""
    path = duckdb_warehouse(gateway)
    if path is not None:
        with duckdb_reader(path) as reader:
            yield reader
        return

    with open_context(gateway) as ctx:
        adapter = ctx.engine_adapter

        def fetch(sql: str) -> Rows:
            cursor = adapter.cursor
            cursor.execute(sql)
            return tuple(d[0] for d in cursor.description), cursor.fetchall()

        def tables(schema: str) -> list[str]:
            try:
                return [obj.name for obj in adapter.get_data_objects(schema)]
            except Exception:  # a schema not built yet
                return []

        yield WarehouseReader(adapter.dialect, fetch, tables)


@contextlib.contextmanager
def duckdb_reader(path: str | Path) -> t.Iterator[WarehouseReader]:
    """A :class:`WarehouseReader` on a DuckDB file, opened read-only for the block."""
    import duckdb

    try:
        con = duckdb.connect(str(path), read_only=True, config=duckdb_config(Path(path)))
    except duckdb.Error as error:
        raise WarehouseError(f"Cannot open the warehouse {path} for reading: {first_line(error)}") from None
    with con:

        def fetch(sql: str) -> Rows:
            cursor = con.execute(sql)
            return tuple(d[0] for d in cursor.description), cursor.fetchall()

        def tables(schema: str) -> list[str]:
            rows = con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name",
                [schema],
            ).fetchall()
            return [name for (name,) in rows]

        yield WarehouseReader("duckdb", fetch, tables)
