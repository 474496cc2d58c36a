"""One ingest, the configured way: the direct loader locally, the Airbyte connection in production.

``dvdrental ingest``, ``dvdrental daily``, ``dvdrental demo`` and the plan diff's scratch build all
call :func:`run_ingest`, so "the configured way" (``--via``, else ``$DVD_INGEST_VIA``, else direct)
is decided in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from foundation.duckdb_memory import duckdb_config
from foundation.errors import ConfigError
from foundation.paths import warehouse_path
from foundation.settings import optional

VIA_ENV = "DVD_INGEST_VIA"
VIAS = ("direct", "airbyte")


@dataclass(frozen=True)
class IngestResult:
    via: str
    rows: int  # rows loaded (direct) or synced (Airbyte; 0 when Airbyte does not say)
    summary: str  # one line for the terminal and the run log


def ingest_via(via: str | None = None) -> str:
    """``via`` if given, else ``$DVD_INGEST_VIA``, else ``direct``; a value not in :data:`VIAS` is a ConfigError."""
    if via:
        return via  # from --via: argparse has checked it against VIAS
    chosen = (optional(VIA_ENV, "direct") or "direct").strip().lower()
    if chosen not in VIAS:
        raise ConfigError(f"{VIA_ENV}={chosen!r}: choose one of {', '.join(VIAS)}.")
    return chosen


def check_ingest_settings(via: str | None = None) -> str:
    """Check, without connecting, the settings one ingest the chosen way needs; returns the way.

    For the daily run, which must refuse a bad setting before it takes the lock or loads anything.
    """
    via = ingest_via(via)
    if via == "airbyte":
        from ingest.airbyte.settings import AirbyteSettings

        AirbyteSettings.from_env()
    else:
        from ingest.source import configured_source_dsn

        configured_source_dsn()
        # DVD_WAREHOUSE_PATH: where the direct loader writes; DVD_DUCKDB_*: how it opens the file
        duckdb_config(warehouse_path())
    return via


def run_ingest(via: str | None = None, progress: bool | None = None) -> IngestResult:
    """Run one full load of bronze the chosen (or configured) way."""
    via = ingest_via(via)
    # Each way's libraries are imported on its own path only: the Airbyte SDK locally is dead
    # weight, and DuckDB/psycopg are not needed to trigger an Airbyte sync.
    if via == "airbyte":
        from ingest.airbyte import run_sync

        synced = run_sync()
        return IngestResult(via, int(synced.rows_synced or 0), synced.summary())
    from ingest.bronze import load_bronze
    from ingest.source import resolve_source_dsn

    check_ingest_settings(via)  # before resolve_source_dsn, which may start the local server
    load = load_bronze(resolve_source_dsn(), progress=progress)
    return IngestResult(via, load.rows, load.summary())
