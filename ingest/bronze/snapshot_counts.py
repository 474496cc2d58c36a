"""The source's row counts in the load's own snapshot, counted beside the copies instead of before them.

The loader checks every table's copy against PostgreSQL's ``count(*)`` in the snapshot it copied
from. Counted on the extension's connection, each count ran before its copy and the load waited for
it: at x600 ``count(*) FROM rental`` is 0.8-1.5 s of a 6-10 s load, while the copy leaves CPU idle
(DuckDB and PostgreSQL's scan backends take turns). So the load's transaction exports its snapshot
(``pg_export_snapshot()`` on the extension's transaction connection), and one side connection imports
it (``SET TRANSACTION SNAPSHOT``, REPEATABLE READ, read only) and counts the tables, in the load's
order, while DuckDB copies them: the same rows the copies see, whatever commits meanwhile.
"""

from __future__ import annotations

import logging
import threading
import typing as t
from concurrent.futures import Future

import psycopg
from psycopg import IsolationLevel, sql

from foundation.errors import first_line
from ingest.tables import SOURCE_SCHEMA, SourceTable

logger = logging.getLogger(__name__)


def count_sql(table: SourceTable) -> sql.Composed:
    """The count, as the source sees it: ``SELECT count(*) FROM public."<table>"`` (the text the
    fault tests wait for in pg_stat_activity)."""
    return sql.SQL("SELECT count(*) FROM {}.{}").format(sql.SQL(SOURCE_SCHEMA), sql.Identifier(table.name))


class SnapshotCounts:
    """``count(*)`` of ``tables`` in the exported snapshot ``snapshot_id``, on a thread of its own.

    :meth:`rows` waits for one table's count; a count that failed raises :class:`CountFailed` there,
    naming the error, so the loader reports it against that table. Leaving the block cancels a count
    still running (a failed or interrupted load does not wait for it).
    """

    def __init__(self, dsn: str, snapshot_id: str, tables: t.Sequence[SourceTable]) -> None:
        self._dsn, self._snapshot_id = dsn, snapshot_id
        self._futures: dict[str, Future[int]] = {table.name: Future() for table in tables}
        self._tables = tuple(tables)
        self._conn: psycopg.Connection | None = None
        self._connected = threading.Event()
        self._thread = threading.Thread(target=self._count_all, name="source-counts", daemon=True)

    def __enter__(self) -> SnapshotCounts:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._connected.wait(timeout=30)
        if self._thread.is_alive() and self._conn is not None:
            try:
                self._conn.cancel()  # a count still running: the load is over, one way or the other
            except psycopg.Error:
                logger.debug("cancelling the source counts failed", exc_info=True)
        self._thread.join(timeout=30)

    def done(self, table: SourceTable) -> int | None:
        """``table``'s count if it is known already, else None (never waits)."""
        future = self._futures[table.name]
        return future.result() if future.done() and future.exception() is None else None

    def rows(self, table: SourceTable) -> int:
        """The source's row count of ``table`` in the load's snapshot (waits for it)."""
        return self._futures[table.name].result()

    def _count_all(self) -> None:
        try:
            # Not ``with connect()``: on an error it rolls back first, and when the server is gone by
            # then (a load cancelled while the source drops the connection) psycopg logs a WARNING of
            # its own on stderr, ahead of the load's one error line. Closing ends the read-only
            # transaction all the same.
            conn = psycopg.connect(self._dsn)
            try:
                self._conn = conn
                self._connected.set()
                conn.isolation_level = IsolationLevel.REPEATABLE_READ
                conn.read_only = True
                # The first statement of the transaction: psycopg has only sent BEGIN.
                conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(self._snapshot_id)))
                for table in self._tables:
                    row = conn.execute(count_sql(table)).fetchone()
                    self._futures[table.name].set_result(int(row[0]) if row else 0)
            finally:
                conn.close()
        except BaseException as error:  # every table not counted yet learns why
            failed = CountFailed(first_line(error))
            for future in self._futures.values():
                if not future.done():
                    future.set_exception(failed)
        finally:
            self._connected.set()


class CountFailed(Exception):
    """The side connection could not count a table (connection lost, cancelled, snapshot gone)."""
