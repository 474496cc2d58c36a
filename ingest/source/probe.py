"""Is the source ready for a direct ingest? What ``dvdrental doctor`` asks before a run does.

The same checks the loader makes before it reads anything (``DVD_SOURCE_DSN`` well-formed, the
server answers, every source table exists and is readable: :func:`ingest.bronze.direct.read_source_columns`),
without loading anything and with a short connect timeout. When ``DVD_SOURCE_DSN`` is unset the
project's own server is the source: it is described (never started), and the sample it will be
restored from is checked.
"""

from __future__ import annotations

from dataclasses import dataclass

from foundation.errors import ConfigError, PipelineError, first_line
from foundation.settings import temporary_env
from ingest.source.dsn import SOURCE_DSN_ENV
from ingest.source.dump import sample_dump
from ingest.tables import SOURCE_TABLES


@dataclass(frozen=True)
class SourceStatus:
    ok: bool
    detail: str  # one line, never a setting's value
    exit_code: int = 0  # 2: a setting to fix; 3: the source does not answer or lacks a table


def probe_source(timeout: float = 10.0, connect: bool = True) -> SourceStatus:
    """Check the source settings and, when ``connect``, that the source answers and has the tables."""
    from ingest.bronze.direct import read_source_columns  # DuckDB loads with it: only when asked
    from ingest.source import LocalPostgres, configured_source_dsn

    try:
        dsn = configured_source_dsn()
        if dsn is None:
            server = LocalPostgres()
            if not server.initialized:
                dump = sample_dump()
                return SourceStatus(True, f"local server not set up yet: the first ingest creates it from {dump.name}")
            if not server.is_running():
                return SourceStatus(True, "local server stopped: the next ingest starts it")
            dsn = server.dsn()
        if not connect:
            return SourceStatus(True, f"{SOURCE_DSN_ENV} well-formed (not connected: --no-connect)")
        with temporary_env(PGCONNECT_TIMEOUT=str(max(1, int(timeout)))):  # libpq's own default is forever
            read_source_columns(dsn, SOURCE_TABLES)
    except ConfigError as error:
        return SourceStatus(False, str(error), error.exit_code)
    except PipelineError as error:
        return SourceStatus(False, first_line(error), error.exit_code)
    return SourceStatus(True, f"answered; all {len(SOURCE_TABLES)} source tables exist and are readable")
