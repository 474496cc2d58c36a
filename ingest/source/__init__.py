"""The PostgreSQL source: the project's own local server, or one named by ``DVD_SOURCE_DSN``."""

from __future__ import annotations

from foundation.settings import optional
from ingest.source.dsn import SOURCE_DSN_ENV, check_source_dsn
from ingest.source.server import DATABASE, SUPERUSER, LocalPostgres, find_bin_dir

__all__ = [
    "DATABASE",
    "LocalPostgres",
    "SOURCE_DSN_ENV",
    "SUPERUSER",
    "check_source_dsn",
    "configured_source_dsn",
    "find_bin_dir",
    "resolve_source_dsn",
]


def configured_source_dsn() -> str | None:
    """``DVD_SOURCE_DSN`` checked (a :class:`ConfigError` when malformed), or None when unset or empty."""
    configured = optional(SOURCE_DSN_ENV)
    return check_source_dsn(configured) if configured else None


def resolve_source_dsn(start_local: bool = True) -> str:
    """The DSN ingest reads from.

    ``DVD_SOURCE_DSN`` wins and then nothing is started; otherwise the local
    server is started (and the sample restored) if it is not running yet.
    """
    configured = configured_source_dsn()
    if configured:
        return configured
    server = LocalPostgres()
    if start_local:
        return server.start()
    return server.dsn()
