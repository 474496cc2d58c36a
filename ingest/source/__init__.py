"""The PostgreSQL source: the project's own local server, or one named by ``DVD_SOURCE_DSN``."""

from __future__ import annotations

from ingest.settings import optional
from ingest.source.server import DATABASE, LocalPostgres, find_bin_dir

SOURCE_DSN_ENV = "DVD_SOURCE_DSN"

__all__ = ["DATABASE", "LocalPostgres", "SOURCE_DSN_ENV", "find_bin_dir", "resolve_source_dsn"]


def resolve_source_dsn(start_local: bool = True) -> str:
    """The DSN ingest reads from.

    ``DVD_SOURCE_DSN`` wins and then nothing is started; otherwise the local
    server is started (and the sample restored) if it is not running yet.
    """
    configured = optional(SOURCE_DSN_ENV)
    if configured:
        return configured
    server = LocalPostgres()
    if start_local:
        return server.start()
    return server.dsn()
