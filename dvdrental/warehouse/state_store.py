"""SQLMesh's state for the local gateway in the project's own PostgreSQL server, out of the warehouse file.

With state in the DuckDB file, anything that only *reads* state opens the file for good: an editor's
language server (``sqlmesh_lsp``, after it lists environments or runs a unit test) or ``sqlmesh ui``
keeps DuckDB's one write lock, and the night's ``dvdrental daily`` fails with exit 4. With state in
PostgreSQL those processes never open the warehouse; only a run that evaluates models does.

config.yaml moves the state once ``DVD_LOCAL_STATE_DATABASE`` is set (with the host, port and user
beside it). :func:`provision_state_database` creates that database in the server the project already
runs for the source, and :class:`StateStore` says the settings to put in ``.env`` (which SQLMesh and
``dvdrental`` both read, so the editor, the UI and the cron job agree on one state). The password is
never among them: libpq reads it from the server's passfile, named by ``PGPASSFILE``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from psycopg import sql

from foundation.errors import SourceServerError
from ingest.source import SUPERUSER, LocalPostgres

logger = logging.getLogger(__name__)

STATE_DATABASE = "sqlmesh_state"


@dataclass(frozen=True)
class StateStore:
    """Where SQLMesh keeps the local gateway's state: a database on a PostgreSQL server."""

    host: str
    port: int
    user: str
    database: str
    passfile: Path

    def settings(self) -> dict[str, str]:
        """The environment that points config.yaml's local gateway here (no secret: a passfile path)."""
        return {
            "DVD_LOCAL_STATE_HOST": self.host,
            "DVD_LOCAL_STATE_PORT": str(self.port),
            "DVD_LOCAL_STATE_USER": self.user,
            "DVD_LOCAL_STATE_DATABASE": self.database,
            "PGPASSFILE": str(self.passfile),
        }


def provision_state_database(server: LocalPostgres, database: str = STATE_DATABASE) -> tuple[StateStore, bool]:
    """Create ``database`` on the project's server if it is missing; rerunnable.

    Returns the store and whether it was created now. The server is started (without restoring the
    sample) when it is not running, like any command that needs it."""
    if not server.initialized:
        raise SourceServerError("The local PostgreSQL server is not set up: run `dvdrental source start` first.")
    server.start(restore=False)
    created = not server.database_exists(database)
    if created:
        with server.connect("postgres", autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        logger.info("created database %s for SQLMesh's state", database)
    state = server.state
    assert state is not None  # initialized above
    return StateStore("127.0.0.1", state.port, SUPERUSER, database, server.passfile), created
