"""DVD rental pipeline: the Python side (local source, bronze ingest, orchestration).

Public API — what other code and notebooks should import:

* :func:`load_bronze` — one direct full load PostgreSQL -> bronze (local default).
* :class:`LocalPostgres` — the project's own PostgreSQL server with the sample.
* :data:`SOURCE_TABLES` — the tables the pipeline loads.
* :class:`PipelineError` — base of every error a user can act on.

The SQL (silver, gold) lives in ``models/``; SQLMesh runs it.
"""

from ingest.bronze import LoadResult, load_bronze
from ingest.errors import PipelineError
from ingest.source import LocalPostgres, resolve_source_dsn
from ingest.tables import SOURCE_TABLES, SourceTable

__all__ = [
    "LoadResult",
    "LocalPostgres",
    "PipelineError",
    "SOURCE_TABLES",
    "SourceTable",
    "load_bronze",
    "resolve_source_dsn",
]
