"""Opening the local DuckDB warehouse file for writing, with the wait DuckDB's one-writer rule needs.

DuckDB lets one process write a database file and no other process read it meanwhile. Both the
loader (bronze) and SQLMesh's context (the models) write the same file, and short-lived readers
(a Superset chart, ``dvdrental answers``) hold it for one query. So every writer opens the file
through :func:`connect_when_free`, which waits a bounded time for such a reader, and reports a
process that keeps the file open with :func:`locked_warehouse_error`: one line, exit 4.
"""

from __future__ import annotations

import logging
import time
import typing as t
from pathlib import Path

from foundation.duckdb_memory import duckdb_config
from foundation.errors import WarehouseError, first_line

if t.TYPE_CHECKING:
    import duckdb

logger = logging.getLogger(__name__)

# A reader that holds the file for one query (read-only, no pooling) is waited for this long
# before a writer gives up with "open in another process"; a process that keeps it open still fails.
LOCK_WAIT_SECONDS = 10.0
_LOCK_POLL_SECONDS = 0.2


def is_lock_error(error: BaseException) -> bool:
    """DuckDB's answer when another process holds the file ("Could not set lock on file ...")."""
    return "could not set lock on file" in str(error).lower()


def connect_when_free(
    path: Path, wait_seconds: float = LOCK_WAIT_SECONDS, *, as_sqlmesh: bool = False
) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect(path)`` for writing, retried while another process briefly holds the file.

    With the warehouse's memory limit and spill folder (:mod:`foundation.duckdb_memory`), the same
    values SQLMesh's ``local`` gateway gets from config.yaml. ``as_sqlmesh``: opened the way SQLMesh
    opens it (no configuration at connect; SQLMesh SETs the two afterwards), for a connection kept
    open while SQLMesh opens its own in the same process: DuckDB refuses a second connection to an
    open file with another configuration."""
    import duckdb  # the CLI's fast path (--help, settings errors) never loads DuckDB

    config = duckdb_config(path)  # a malformed setting fails here, before the file is touched
    if as_sqlmesh:
        config = {}
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return duckdb.connect(str(path), config=config)
        except duckdb.IOException as error:
            if not is_lock_error(error) or time.monotonic() >= deadline:
                raise
            logger.debug("warehouse %s is held by another process; trying again", path)
            time.sleep(_LOCK_POLL_SECONDS)


def locked_warehouse_error(path: str | Path, error: BaseException) -> WarehouseError:
    """The one message for a warehouse another process keeps open (exit 4)."""
    return WarehouseError(
        f"The warehouse {path} is open in another process (a running `sqlmesh ui`, notebook, Python "
        f"session or `dvdrental` command?). Close it and run again; nothing was changed. An editor or UI that "
        f"stays open holds it while SQLMesh's state is in the file: move the state to PostgreSQL with "
        f"`dvdrental source state` (DVD_LOCAL_STATE_DATABASE, docs/operations.md). ({first_line(error)})"
    )
