"""The bronze table layout: what Airbyte's Databricks destination writes.

Production bronze is written by Airbyte (source-postgres -> destination-
databricks 4.x, direct load); the local loader writes the same layout so the
staging models run unchanged on both. This module is the one place the
mapping is written down (README "Bronze layout" repeats it for readers).

Every bronze table is Airbyte's four metadata columns first, then the source
columns in their order, typed the way Airbyte maps them (destination-databricks,
``sql/DatabricksSqlGenerator.kt``, ``createTable``: meta columns, then user columns).

The types follow the current source-postgres, the Kotlin connector on Airbyte's bulk
CDK (airbytehq/airbyte ``.../source-postgres/.../operations/PostgresSourceFieldTypeMapper.kt``
as of commit 1610c23b; types come from JDBC result-set metadata,
``JdbcMetadataQuerier.columnMetadata``). Its first release number could not be confirmed
(docs/airbyte.md, section 7):

| PostgreSQL type                         | Airbyte type               | Databricks     | DuckDB        |
|-----------------------------------------|----------------------------|----------------|---------------|
| smallint, integer, bigint, numeric(p,0) | integer                    | BIGINT         | BIGINT        |
| numeric(p,s>0), numeric, real, double   | number                     | DECIMAL(38,10) | DECIMAL(38,10)|
| timestamp without time zone             | timestamp_without_timezone | TIMESTAMP_NTZ  | TIMESTAMP     |
| timestamp with time zone                | timestamp_with_timezone    | TIMESTAMP      | TIMESTAMPTZ   |
| date                                    | date                       | DATE           | DATE          |
| boolean                                 | boolean                    | BOOLEAN        | BOOLEAN       |
| arrays (``text[]``)                     | array                      | STRING (JSON)  | VARCHAR (JSON)|
| text, varchar, char, enum,              | string                     | STRING         | VARCHAR       |
| tsvector, anything else                 |                            |                |               |

* A domain is its base type: PostgreSQL reports a domain column's base type in
  result-set metadata, so ``film.release_year`` (domain ``year`` over integer) is an
  integer (``information_schema.columns.data_type`` says the same, which is what we read).
* ``numeric(p,0)`` is an integer (the mapper's ``precision != 0 && scale == 0 ->
  BigIntegerFieldType``); unconstrained ``numeric`` stays a number. A value beyond
  BIGINT would not fit either way (the local cast fails; Airbyte nulls it and says so in
  ``_airbyte_meta``).
* Older source-postgres versions (the Java connector) read domains as strings; the
  staging models cast ``release_year`` so they are right for either type, and a bronze
  written by such a connection would be STRING where this file says BIGINT.
* ``_airbyte_generation_id`` is counted per stream (each stream's table has its own
  counter, a new stream starts at 1): nothing may compare it across tables.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from pathlib import Path

# Airbyte's metadata columns, in the order the destination creates them. Locally, the three that hold one
# value per load are virtual generated columns (ingest/bronze/direct.py, _column_definitions): same type, read alike.
META_COLUMNS: tuple[tuple[str, str, str], ...] = (
    # name, Databricks type, DuckDB type
    # _airbyte_raw_id is a random UUID; Databricks keeps its text (STRING), the local warehouse
    # DuckDB's native UUID: 16 bytes a row instead of 36 incompressible ones, and no text to
    # format, hash and check, about 1.3 of the loader's CPU-seconds at x600 (benchmarks/RESULTS.md).
    # The models only order by it (the tie-break of @is_latest_extract), and DuckDB orders UUIDs
    # as their text sorts, so they pick the same row; dvdrental.local_databricks.bronze exports it as text.
    ("_airbyte_raw_id", "STRING", "UUID"),
    ("_airbyte_extracted_at", "TIMESTAMP", "TIMESTAMPTZ"),
    ("_airbyte_meta", "STRING", "VARCHAR"),
    ("_airbyte_generation_id", "BIGINT", "BIGINT"),
)

_INTEGER_TYPES = {"smallint", "integer", "bigint"}
_NUMBER_TYPES = {"numeric", "real", "double precision"}


@dataclass(frozen=True)
class BronzeType:
    airbyte: str
    databricks: str
    duckdb: str
    is_json: bool = False


STRING = BronzeType("string", "STRING", "VARCHAR")
_BY_PG_TYPE: dict[str, BronzeType] = {
    **{name: BronzeType("integer", "BIGINT", "BIGINT") for name in _INTEGER_TYPES},
    **{name: BronzeType("number", "DECIMAL(38,10)", "DECIMAL(38,10)") for name in _NUMBER_TYPES},
    "timestamp without time zone": BronzeType("timestamp_without_timezone", "TIMESTAMP_NTZ", "TIMESTAMP"),
    "timestamp with time zone": BronzeType("timestamp_with_timezone", "TIMESTAMP", "TIMESTAMPTZ"),
    "date": BronzeType("date", "DATE", "DATE"),
    "boolean": BronzeType("boolean", "BOOLEAN", "BOOLEAN"),
    "ARRAY": BronzeType("array", "STRING", "VARCHAR", is_json=True),
}


@dataclass(frozen=True)
class SourceColumn:
    """One column as PostgreSQL's information_schema.columns describes it (for a domain
    column, ``data_type`` is already the domain's base type)."""

    name: str
    data_type: str
    domain_name: str | None = None
    numeric_precision: int | None = None
    numeric_scale: int | None = None

    @property
    def bronze_type(self) -> BronzeType:
        if self.data_type == "numeric" and self.numeric_precision is not None and self.numeric_scale == 0:
            return _BY_PG_TYPE["bigint"]
        return _BY_PG_TYPE.get(self.data_type, STRING)

    def duckdb_select(self, source_alias: str) -> str:
        """The DuckDB expression that reads this column from the attached source."""
        column = f'{source_alias}."{self.name}"'
        bronze = self.bronze_type
        if bronze.is_json:
            return f'CAST(to_json({column}) AS VARCHAR) AS "{self.name}"'
        return f'CAST({column} AS {bronze.duckdb}) AS "{self.name}"'


SOURCE_COLUMNS_SQL = """
SELECT table_name, column_name, data_type, domain_name, numeric_precision, numeric_scale
FROM information_schema.columns
WHERE table_schema = %s AND table_name = ANY(%s)
ORDER BY table_name, ordinal_position
"""


def declared_source_columns(external_models: Path | None = None) -> dict[str, list[str]]:
    """Source columns per bronze table as external_models.yaml declares them (metadata columns left out).

    These are the columns SQLMesh (and so the staging models) expect in bronze.
    """
    return {table: list(types) for table, types in declared_source_column_types(external_models).items()}


def declared_source_column_types(external_models: Path | None = None) -> dict[str, dict[str, str]]:
    """Like declared_source_columns, with each column's declared (Databricks) type."""
    meta = {name for name, _, _ in META_COLUMNS}
    return {
        table: {column: dtype for column, dtype in columns.items() if column not in meta}
        for table, columns in declared_bronze_columns(external_models).items()
    }


def declared_bronze_columns(external_models: Path | None = None) -> dict[str, dict[str, str]]:
    """``{bronze table: {column: Databricks type}}``, in order, metadata columns included.

    The one reader of external_models.yaml (the loader's drift check, the Spark bronze copy and
    the layout tests all use it); SQLMesh reads the file itself.
    """
    import yaml

    from foundation.paths import PROJECT_ROOT

    path = Path(external_models or PROJECT_ROOT / "external_models.yaml")
    return {
        entry["name"].split(".")[-1]: {str(c): str(t) for c, t in (entry.get("columns") or {}).items()}
        for entry in yaml.safe_load(path.read_text()) or []
    }


def retyped_declared_columns(
    source_columns: dict[str, list[SourceColumn]], declared: dict[str, dict[str, str]], bronze_prefix: str = "raw_dvd_"
) -> list[tuple[str, str, str, str]]:
    """(table, column, declared type, type bronze would get) for declared columns whose source type changed.

    A column that would land in bronze with another type than external_models.yaml declares
    (say integer -> text: BIGINT -> STRING) would make the staging casts fail, or worse, succeed
    with another meaning. Compared on the Databricks type, the one the declaration uses.
    """
    retyped = []
    for table, columns in source_columns.items():
        wanted = declared.get(bronze_prefix + table, {})
        for column in columns:
            expected = wanted.get(column.name)
            if expected is not None and _normalised(expected) != _normalised(column.bronze_type.databricks):
                retyped.append((table, column.name, expected, column.bronze_type.databricks))
    return retyped


def _normalised(type_name: str) -> str:
    return type_name.replace(" ", "").upper()


def missing_declared_columns(
    source_columns: dict[str, list[SourceColumn]], declared: dict[str, list[str]], bronze_prefix: str = "raw_dvd_"
) -> list[tuple[str, str]]:
    """(table, column) pairs declared for bronze but absent from the source: renamed or dropped.

    Extra source columns are fine (they are carried into bronze, and nothing reads them);
    only a missing declared column breaks the contract with the staging models.
    """
    missing: list[tuple[str, str]] = []
    for table, columns in source_columns.items():
        present = {column.name for column in columns}
        missing.extend((table, name) for name in declared.get(bronze_prefix + table, []) if name not in present)
    return missing


def compare_bronze_columns(
    table: str, declared: t.Mapping[str, t.Any], actual: t.Mapping[str, t.Any]
) -> tuple[list[str], list[str]]:
    """A bronze table's columns as the engine has them, against what the models read: (problems, added).

    ``problems``: one sentence per declared column that is gone or holds another kind of value now,
    naming table and column (a model would fail on it, or read it with another meaning). ``added``:
    columns nothing declares (nothing reads them: reported, never refused). ``declared`` and ``actual``
    map column names to sqlglot ``DataType``s (or type strings in the Databricks dialect). Kinds, not
    exact types, because the local warehouse stores some of Airbyte's types its own way (a UUID raw
    id, TIMESTAMPTZ for TIMESTAMP) and a wider integer is no change a model notices; integer -> text
    or timestamp -> text is. Plain functions only: SQLMesh stores the signal that calls this
    (signals/bronze_schema.py) with its code.
    """
    actual_by_name = {name.lower(): dtype for name, dtype in actual.items()}
    problems: list[str] = []
    for name, dtype in declared.items():
        now = actual_by_name.get(name.lower())
        if now is None:
            problems.append(f"{table} has no column {name}, which the models read")
        elif value_kind(dtype) != value_kind(now):
            problems.append(f"{table}.{name} is {type_sql(now)} where the models read {type_sql(dtype)}")
    declared_names = {name.lower() for name in declared}
    added = [name for name in actual_by_name if name not in declared_names]
    return problems, added


def value_kind(dtype: t.Any) -> str:
    """integer, number, string, timestamp, date, boolean or the type's own name: what a column holds."""
    from sqlglot import exp

    data_type = dtype if isinstance(dtype, exp.DataType) else exp.DataType.build(str(dtype), dialect="databricks")
    kind = data_type.this
    if kind in exp.DataType.INTEGER_TYPES:
        return "integer"
    if kind in exp.DataType.REAL_TYPES:
        return "number"
    if kind in exp.DataType.TEXT_TYPES or kind == exp.DataType.Type.UUID:
        return "string"
    if kind == exp.DataType.Type.DATE:
        return "date"
    if kind in exp.DataType.TEMPORAL_TYPES:
        return "timestamp"
    if kind == exp.DataType.Type.BOOLEAN:
        return "boolean"
    return kind.value.lower()


def type_sql(dtype: t.Any) -> str:
    from sqlglot import exp

    return dtype.sql(dialect="databricks") if isinstance(dtype, exp.DataType) else str(dtype)
