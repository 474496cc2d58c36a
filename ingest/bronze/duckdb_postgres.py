"""Opening the warehouse and attaching the source through DuckDB's postgres extension.

Why this reader: it streams PostgreSQL's binary COPY protocol straight into
DuckDB's columnar storage, at the speed of ``psql \\copy`` and with bounded
memory, where a Python row loop runs about ten times slower. The extension
ships in the ``duckdb-extension-postgres`` wheel and is loaded from there:
nothing is downloaded at run time.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

import duckdb
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from foundation.errors import WarehouseError, first_line
from foundation.paths import LOCAL_DIR
from foundation.warehouse_file import connect_when_free, is_lock_error, locked_warehouse_error

logger = logging.getLogger(__name__)

SOURCE_ALIAS = "dvd_source"
# Bounds the loader's memory whatever the table size (DuckDB spills beyond it). The
# process's peak RSS is about this plus 120 MB (Python, libpq, the extension): 256 MB
# keeps a 10-million-row load under 512 MB at the same speed as 384 MB
# (benchmarks/RESULTS.md).
MEMORY_LIMIT = "256MB"


def extension_file() -> Path:
    """The postgres extension for the installed duckdb, under the name DuckDB expects.

    The wheel stores it as ``postgres.duckdb_extension`` but DuckDB derives
    the entry point from the file name (``postgres_scanner_init``), so it is
    linked under that name in a cache folder.
    """
    version = duckdb.__version__
    try:
        packaged = (
            resources.files("duckdb_extension_postgres") / "extensions" / f"v{version}" / "postgres.duckdb_extension"
        )
    except ModuleNotFoundError:
        packaged = None
    if packaged is None or not Path(str(packaged)).is_file():
        raise WarehouseError(
            f"DuckDB's postgres extension for duckdb {version} is not installed: "
            f"pip install duckdb-extension-postgres=={version}"
        )
    link = LOCAL_DIR / "duckdb_extensions" / f"v{version}" / "postgres_scanner.duckdb_extension"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        tmp = link.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(Path(str(packaged)))
        tmp.replace(link)
    return link


def open_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    """Open the warehouse for writing, or say plainly why not."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise WarehouseError(f"Cannot create the warehouse directory {path.parent}: {error.strerror}.") from None
    try:
        con = connect_when_free(path)
    except duckdb.IOException as error:
        if is_lock_error(error):
            raise locked_warehouse_error(path, error) from None
        raise WarehouseError(f"Cannot open the warehouse {path}: {first_line(error)}") from None
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar_print = false")  # we draw our own, per table
    return con


def attach_source(con: duckdb.DuckDBPyConnection, dsn: str) -> None:
    """Attach the PostgreSQL source read-only under :data:`SOURCE_ALIAS`."""
    con.execute(f"LOAD '{extension_file()}'")
    libpq = make_conninfo(dsn)  # a URI or key=value string, normalised for libpq
    con.execute(f"ATTACH {_quote(libpq)} AS {SOURCE_ALIAS} (TYPE postgres, READ_ONLY)")


def describe_source(dsn: str) -> str:
    """host:port/dbname of a DSN, safe to print (no password)."""
    params = conninfo_to_dict(dsn)
    host = params.get("host") or params.get("hostaddr") or "localhost"
    return f"{host}:{params.get('port') or 5432}/{params.get('dbname') or ''}"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
