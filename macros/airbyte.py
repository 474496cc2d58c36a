"""Macros shared by the silver models: reading Airbyte's bronze layout.

Every silver model reads one ``bronze.raw_dvd_<table>`` table the same way
(keep the newest copy of each primary key, reduce Airbyte's four metadata
columns to one load time, parse JSON-encoded arrays), so that logic is written
once here instead of eleven times.
"""

from __future__ import annotations

from sqlglot import exp
from sqlmesh import macro
from sqlmesh.core.macros import MacroEvaluator

# Airbyte's metadata columns (ingest/bronze/layout.py, META_COLUMNS).
EXTRACTED_AT = "_airbyte_extracted_at"
RAW_ID = "_airbyte_raw_id"


@macro()
def is_latest_extract(evaluator: MacroEvaluator, *keys: exp.Expr) -> exp.Expr:
    """The QUALIFY condition that keeps one bronze row per primary key.

    Airbyte can leave more than one row for a key (a retried sync, a
    generation that overlaps the previous one). The newest
    ``_airbyte_extracted_at`` wins; ``_airbyte_raw_id`` (a UUID) breaks ties so
    the pick is deterministic. Usage: ``QUALIFY @is_latest_extract(film_id, category_id)``.
    QUALIFY is native on Databricks and DuckDB; sqlglot rewrites it to a
    subquery for Spark.
    """
    if not keys:
        raise ValueError("@is_latest_extract needs the primary key column(s)")
    window = exp.Window(
        this=exp.RowNumber(),
        partition_by=[key.copy() for key in keys],
        order=exp.Order(
            expressions=[
                exp.Ordered(this=exp.column(EXTRACTED_AT), desc=True),
                exp.Ordered(this=exp.column(RAW_ID), desc=True),
            ]
        ),
    )
    return exp.EQ(this=window, expression=exp.Literal.number(1))


@macro()
def airbyte_loaded_at(evaluator: MacroEvaluator) -> exp.Expr:
    """Airbyte's four metadata columns reduced to the one that matters downstream:
    when the row was extracted from the source (an instant, hence TIMESTAMP)."""
    return exp.cast(exp.column(EXTRACTED_AT), exp.DataType.build("TIMESTAMP", dialect="databricks"))


@macro()
def airbyte_number(evaluator: MacroEvaluator, column: exp.Expr, precision: exp.Expr, scale: exp.Expr) -> exp.Expr:
    """A bronze number (Airbyte's DECIMAL(38,10)) narrowed to the source's numeric(p,s).

    Why not one CAST: DuckDB narrows a 38-digit decimal with 128-bit arithmetic, 4.3 s for the
    8.8 M payments of the x600 benchmark; through DECIMAL(18,10) it stays 64-bit, 0.13 s. The
    result is the same for every value that fits numeric(p,s) (p <= 8): the intermediate cast
    is exact below 10^8, and anything larger fails either way, as the direct cast would.
    """
    target = exp.DataType.build(f"DECIMAL({precision.name}, {scale.name})", dialect="databricks")
    if int(precision.name) > 8:
        return exp.cast(column.copy(), target)
    narrow = exp.Cast(this=column.copy(), to=exp.DataType.build("DECIMAL(18, 10)", dialect="databricks"))
    # exp.Cast, not exp.cast(): the helper returns a CAST to any DECIMAL unchanged, dropping the narrowing.
    return exp.Cast(this=narrow, to=target)


@macro()
def json_string_array(evaluator: MacroEvaluator, column: exp.Expr) -> exp.Expr:
    """Parse a JSON text array (Airbyte's encoding of ``text[]``) into ARRAY<STRING>.

    Why a macro: the natural Databricks/Spark spelling
    ``from_json(x, 'ARRAY<STRING>')`` is passed through to DuckDB unchanged by
    sqlglot, where ``from_json`` wants a JSON structure (``'["VARCHAR"]'``), not a
    DDL type string. So the SQL is chosen by the engine that will run it.
    While models are loading there is no engine yet; the Databricks form is
    returned then (it is only used for dependency and type inference).
    """
    target = _engine_dialect(evaluator)
    if target == "duckdb":
        # DuckDB's from_json takes a JSON *structure* for the type. Built as an anonymous
        # function so SQLMesh's optimizer (which works in the model's dialect) leaves it alone.
        return exp.Anonymous(this="from_json", expressions=[column.copy(), exp.Literal.string('["VARCHAR"]')])
    return exp.cast(
        exp.Anonymous(this="FROM_JSON", expressions=[column.copy(), exp.Literal.string("ARRAY<STRING>")]),
        exp.DataType.build("ARRAY<STRING>", dialect="databricks"),
    )


def _engine_dialect(evaluator: MacroEvaluator) -> str:
    if evaluator.runtime_stage == "loading":
        return evaluator.dialect or "databricks"
    try:
        return evaluator.engine_adapter.dialect
    except Exception:  # no adapter available (e.g. rendering without a connection)
        return evaluator.dialect or "databricks"


@macro()
def newest_extracts(evaluator: MacroEvaluator, sources: exp.Expr) -> exp.Expr:
    """One row per bronze table of ``sources``: its name and its newest ``_airbyte_extracted_at``.

    Used by audits/freshness.sql, which checks all bronze tables in one query, so a failing row
    says which table is stale (``'@x'`` is not interpolated, hence the name as a literal).
    """
    dialect = evaluator.dialect or "databricks"
    relations = sources.expressions if isinstance(sources, exp.Tuple) else [sources]
    newest = [
        exp.select(
            exp.Literal.string(relation.sql(dialect=dialect)).as_("bronze_table"),
            exp.Max(this=exp.column("_airbyte_extracted_at")).as_("newest_extracted_at"),
        ).from_(exp.to_table(relation.sql(dialect=dialect), dialect=dialect))
        for relation in relations
    ]
    union: exp.Query = newest[0]
    for query in newest[1:]:
        union = exp.union(union, query, distinct=False)
    return union
