"""Macros shared by the gold models.

Each one exists because the same expression is needed in more than one model
(date keys) or because the obvious Databricks spelling does not
transpile faithfully to every engine we run on (ISO day of week).
"""

from __future__ import annotations

from sqlglot import exp, parse_one
from sqlmesh import macro
from sqlmesh.core.macros import MacroEvaluator


@macro()
def date_key(evaluator: MacroEvaluator, day: exp.Expr) -> exp.Expr:
    """The integer key of a calendar day, yyyymmdd (2005-05-24 -> 20050524).

    gold.dim_date and every date key of the facts use this one definition, so the
    keys always join. NULL in, NULL out (a rental not returned has no return date key).
    """
    return parse_one(
        f"CAST(YEAR({_sql(day)}) * 10000 + MONTH({_sql(day)}) * 100 + DAY({_sql(day)}) AS INT)",
        dialect="databricks",
    )


@macro()
def iso_day_of_week(evaluator: MacroEvaluator, day: exp.Expr) -> exp.Expr:
    """ISO day of week, Monday = 1 .. Sunday = 7, computed arithmetically.

    Why not a function: Databricks' ``EXTRACT(DAYOFWEEK_ISO FROM d)`` is emitted
    by sqlglot for DuckDB as ``EXTRACT(DAYOFWEEKISO ...)``, which DuckDB rejects, and
    ``DAYOFWEEK``/``WEEKDAY`` are passed through unchanged although the engines number
    the days differently (Databricks Sunday = 1, DuckDB Sunday = 0). Days since a known
    Monday (1900-01-01), modulo 7, means the same thing everywhere.
    """
    return parse_one(f"CAST(MOD(DATEDIFF({_sql(day)}, DATE '1900-01-01'), 7) + 1 AS INT)", dialect="databricks")


def _sql(expression: exp.Expr) -> str:
    return expression.sql(dialect="databricks")
