"""What ingests: the PostgreSQL source, the direct loader and bronze layout, the Airbyte client.

Public API — what other code and notebooks should import:

* :func:`run_ingest` — one full load of bronze, the configured way (direct or Airbyte).
* :func:`load_bronze` — one direct full load PostgreSQL -> bronze (local default).
* :class:`LocalPostgres` — the project's own PostgreSQL server with the sample.
* :data:`SOURCE_TABLES` — the tables the pipeline loads.

This package imports only the ground floor (:mod:`foundation`: errors, settings, paths), never
the application (:mod:`dvdrental`). The names above are loaded on first use, so importing one
submodule stays cheap: the loader pulls in DuckDB and psycopg.
"""

from __future__ import annotations

import importlib
import typing as t

_PUBLIC = {
    "IngestResult": "ingest.run",
    "LoadResult": "ingest.bronze",
    "LocalPostgres": "ingest.source",
    "SOURCE_TABLES": "ingest.tables",
    "SourceTable": "ingest.tables",
    "load_bronze": "ingest.bronze",
    "resolve_source_dsn": "ingest.source",
    "run_ingest": "ingest.run",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> t.Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'ingest' has no attribute {name!r}")
