"""Bronze: the raw, Airbyte-shaped copy of the source tables."""

from ingest.bronze.direct import LoadResult, TableLoad, load_bronze
from ingest.bronze.layout import META_COLUMNS, SourceColumn

__all__ = ["LoadResult", "META_COLUMNS", "SourceColumn", "TableLoad", "load_bronze"]
