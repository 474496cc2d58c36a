"""Macros of the broken-load guard (models/staging/bronze_loads.sql): what one load of a bronze table says.

A load can report success and still be broken: Airbyte's full-refresh overwrite has left tables
empty or half full (airbytehq/airbyte#42468, #39039), and its Databricks destination nulls a value
it cannot store and only says so in the row's ``_airbyte_meta.changes``
(destination-databricks ``DatabricksValueCoercer.kt``). Staging turns every key missing from bronze
into a tombstone, so such a load would delete real rows all the way to gold. The guard model
reads each bronze table once per run (``@bronze_load``) and its blocking audit stops every staging
model when a table lost more keys than it may (``@max_lost_keys``), unless a person accepted
exactly that load (``@mass_deletion_accepted``). docs/reliability.md, "A load that looks good".
"""

from __future__ import annotations

import os

from sqlglot import exp, parse_one
from sqlmesh import macro
from sqlmesh.core.macros import MacroEvaluator

# One run's acceptance of a real mass deletion: TABLE:KEYS[,TABLE:KEYS...], e.g. rental:8022.
# Read when the guard model is evaluated (not when it is loaded), so it is one command's setting
# (`dvdrental daily --accept-mass-deletion rental:8022`, or the variable before `sqlmesh run`), and
# the key count makes it valid for that load only: the next load, with another count, is checked.
ACCEPT_ENV = "DVD_ACCEPT_MASS_DELETION"


@macro()
def bronze_load(
    evaluator: MacroEvaluator,
    table: exp.Expr,
    keys: exp.Expr,
    guarded: exp.Expr,
) -> exp.Expr:
    """One row about ``bronze.raw_dvd_<table>``'s current load: its facts and the limits it is held to.

    The facts: rows, distinct keys, rows whose ``_airbyte_meta`` lists a change, and rows with a
    change on a ``guarded`` column (keys, references, measures: a value Airbyte nulled there makes a
    figure wrong). The limits: ``max_lost_fraction`` (config.yaml ``load_guard_max_lost_fraction``,
    or the table's entry in ``load_guard_overrides``) and ``min_lost_keys``
    (``load_guard_min_lost_keys``: losing at most that many keys never stops a run, so a few real
    deletions flow through, also in the six-row language table), and ``accepted_keys_count``: the
    key count ``DVD_ACCEPT_MASS_DELETION`` accepts for this table in this run (NULL: none).
    ``keys``: the primary key (a column or a tuple).
    """
    name = table.name
    key_columns = list(keys.expressions) if isinstance(keys, exp.Tuple) else [keys]
    guarded_columns = list(guarded.expressions) if isinstance(guarded, exp.Tuple) else [guarded]
    if len(key_columns) == 1:
        distinct_keys = exp.Count(this=exp.Distinct(expressions=[key_columns[0].copy()]))
    else:  # COUNT(DISTINCT a, b) is not portable: count the distinct key text instead
        parts: list[exp.Expr] = []
        for position, column in enumerate(key_columns):
            if position:
                parts.append(exp.Literal.string("|"))
            parts.append(exp.cast(column.copy(), "STRING"))
        distinct_keys = exp.Count(this=exp.Distinct(expressions=[exp.Concat(expressions=parts)]))
    overrides = evaluator.var("load_guard_overrides") or {}
    fraction = float(overrides.get(name, evaluator.var("load_guard_max_lost_fraction", 0.1)))
    minimum = int(evaluator.var("load_guard_min_lost_keys", 25))
    accepted = _accepted_count(evaluator, name)
    meta = exp.column("_airbyte_meta")
    guarded_changes = _changes_any_of(evaluator, meta, [column.name for column in guarded_columns])
    accepted_count = exp.Literal.number(accepted) if accepted is not None else exp.null()
    return exp.select(
        exp.alias_(exp.Literal.string(name), "source_table"),
        exp.alias_(exp.Count(this=exp.Star()), "bronze_rows"),
        exp.alias_(distinct_keys, "bronze_keys"),
        exp.alias_(_count_if(_has_changes(evaluator, meta)), "changed_rows"),
        exp.alias_(_count_if(guarded_changes), "guarded_changed_rows"),
        exp.alias_(exp.cast(exp.Literal.number(fraction), "DOUBLE"), "max_lost_fraction"),
        exp.alias_(exp.cast(exp.Literal.number(minimum), "BIGINT"), "min_lost_keys"),
        exp.alias_(exp.cast(accepted_count, "BIGINT"), "accepted_keys_count"),
    ).from_(exp.to_table(f"bronze.raw_dvd_{name}"))


def _accepted_count(evaluator: MacroEvaluator, table: str) -> int | None:
    """The key count ``DVD_ACCEPT_MASS_DELETION`` accepts for ``table`` in this run, if any.

    Read only while the model is evaluated: loading or rendering a plan sees none, so the setting
    never becomes part of the model's definition (a run, not a plan, is what it accepts).
    """
    if evaluator.runtime_stage != "evaluating":
        return None
    for entry in os.environ.get(ACCEPT_ENV, "").split(","):
        name, _, count = entry.strip().partition(":")
        if name.strip() == table and count.strip().isdigit():
            return int(count.strip())
    return None


def _count_if(condition: exp.Expr) -> exp.Expr:
    counted = exp.Sum(this=exp.If(this=condition, true=exp.Literal.number(1), false=exp.Literal.number(0)))
    return exp.func("COALESCE", counted, exp.Literal.number(0))  # 0, not NULL, for an empty table


def _has_changes(evaluator: MacroEvaluator, meta: exp.Expr) -> exp.Expr:
    """The row's ``_airbyte_meta`` (JSON text) lists at least one change."""
    column = meta.sql(dialect="duckdb")
    if _engine_dialect(evaluator) == "duckdb":  # named calls: sqlglot would rewrite DuckDB's JSON functions
        length = exp.Anonymous(this="json_array_length", expressions=[meta.copy(), exp.Literal.string("$.changes")])
        return exp.GT(this=exp.func("COALESCE", length, exp.Literal.number(0)), expression=exp.Literal.number(0))
    return parse_one(f"COALESCE(SIZE({_spark_changes(column)}), 0) > 0", dialect="databricks")


def _changes_any_of(evaluator: MacroEvaluator, meta: exp.Expr, columns: list[str]) -> exp.Expr:
    """A change listed in the row's ``_airbyte_meta`` is on one of ``columns``."""
    column = meta.sql(dialect="duckdb")
    names = ", ".join(f"'{name}'" for name in columns)
    if _engine_dialect(evaluator) == "duckdb":
        path = exp.Literal.string("$.changes[*].field")
        fields = exp.Anonymous(this="json_extract_string", expressions=[meta.copy(), path])
        wanted = exp.Array(expressions=[exp.Literal.string(name) for name in columns])
        return exp.func("COALESCE", exp.Anonymous(this="list_has_any", expressions=[fields, wanted]), exp.false())
    return parse_one(
        f"COALESCE(SIZE(FILTER({_spark_changes(column)}, c -> c.field IN ({names}))), 0) > 0", dialect="databricks"
    )


def _spark_changes(column: str) -> str:
    # The destination writes {"sync_id": ..., "changes": [{"field", "change", "reason"}]}.
    shape = "STRUCT<changes: ARRAY<STRUCT<field: STRING, change: STRING, reason: STRING>>>"
    return f"FROM_JSON({column}, '{shape}').changes"


def _engine_dialect(evaluator: MacroEvaluator) -> str:
    """The dialect of the engine the SQL will run on (the model's while models are loading).

    A copy of macros/airbyte.py's helper on purpose: SQLMesh stores each macro with the functions
    it calls, and a function imported from another macro file is stored as an import that only
    resolves with this project first on sys.path (macros/changes.py says the same).
    """
    if evaluator.runtime_stage == "loading":
        return evaluator.dialect or "databricks"
    try:
        return evaluator.engine_adapter.dialect
    except Exception:  # no adapter available (e.g. rendering without a connection)
        return evaluator.dialect or "databricks"
