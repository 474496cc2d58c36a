"""One ingest, the configured way: the direct loader locally, the Airbyte connection in production.

``dvdrental ingest``, ``dvdrental daily``, ``dvdrental demo`` and the plan diff's scratch build all
call :func:`run_ingest`, so "the configured way" (``--via``, else ``$DVD_INGEST_VIA``, else direct)
is decided in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.settings import optional

VIA_ENV = "DVD_INGEST_VIA"
VIAS = ("direct", "airbyte")


@dataclass(frozen=True)
class IngestResult:
    via: str
    rows: int  # rows loaded (direct) or synced (Airbyte; 0 when Airbyte does not say)
    summary: str  # one line for the terminal and the run log


def ingest_via(via: str | None = None) -> str:
    """``via`` if given, else ``$DVD_INGEST_VIA``, else ``direct``."""
    return via or optional(VIA_ENV, "direct") or "direct"


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

    load = load_bronze(resolve_source_dsn(), progress=progress)
    return IngestResult(via, load.rows, load.summary())
