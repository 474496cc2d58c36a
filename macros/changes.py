"""Macros for the change-driven (incremental) models: what changed since the stored rows.

Bronze is a full refresh: every day Airbyte writes every source row again, so "new since
yesterday" cannot be read off bronze. The event tables (rental, payment) grow without bound,
so their staging models compare each bronze row with the row they already hold, by a content
hash, and write only what differs; deleted keys are written once more as tombstones
(``_is_deleted``) so the models downstream can delete and recompute them too. Every row written
carries ``_changed_at`` (the end of the interval whose run wrote it); a downstream model takes
the rows whose ``_changed_at`` falls in its own interval (``>= @start_ts``).
See docs/models.md, "Design decisions": daily runs are change-driven.
"""

from __future__ import annotations

from sqlglot import exp
from sqlmesh import macro
from sqlmesh.core.macros import MacroEvaluator


@macro()
def content_hash(evaluator: MacroEvaluator, *columns: exp.Expr) -> exp.Expr:
    """A 63-bit hash of the columns, NULL-safe and position-sensitive: detects a changed row.

    Why not MD5 of the text forms: over 9.6 M rentals that costs ~2 s of casting to strings in
    DuckDB, the native hash ~0.1 s. Each engine has its own native hash
    (DuckDB ``hash``, Spark/Databricks ``xxhash64``), so a hash is only ever compared with hashes
    the same engine computed (an engine upgrade that changed it would rewrite each row once).
    Spark's ``xxhash64`` skips NULLs, so (NULL, 'a') and ('a', NULL) would collide: each column
    is followed by its NULL flag there. DuckDB's hash is unsigned 64-bit; it is shifted to fit
    BIGINT, the type every engine stores.
    """
    if len(columns) == 1 and isinstance(columns[0], exp.Tuple):  # @content_hash(@content_columns)
        columns = tuple(columns[0].expressions)
    if not columns:
        raise ValueError("@content_hash needs at least one column")
    if _engine_dialect(evaluator) == "duckdb":
        native = exp.Anonymous(this="hash", expressions=[column.copy() for column in columns])
        return exp.cast(exp.BitwiseRightShift(this=native, expression=exp.Literal.number(1)), "BIGINT")
    flagged: list[exp.Expr] = []
    for column in columns:
        flagged += [column.copy(), exp.Is(this=column.copy(), expression=exp.Null())]
    return exp.cast(exp.Anonymous(this="XXHASH64", expressions=flagged), "BIGINT")


@macro()
def changed_keys(evaluator: MacroEvaluator, hashes: exp.Expr, stored: exp.Expr, key: exp.Expr) -> exp.Expr:
    """The keys to write this run: new, changed, back after a deletion, or gone from bronze.

    ``hashes`` (a CTE: key and ``_content_hash`` of every bronze copy) is FULL OUTER JOINed with
    ``stored`` (``@this_model``) on ``key``. One row per key: the key and ``is_gone`` (no bronze copy
    left: write a tombstone). Written once here for every change-driven staging model, which all
    take the same shape (staging.dvd_rental, staging.dvd_payment): newest copies of the keys not
    gone, then tombstones of the gone ones; ``sqlmesh render staging.dvd_rental`` shows the SQL.
    """
    copy_key = exp.column(key.name, table="copy")
    stored_key = exp.column(key.name, table="stored")
    projections = [
        exp.alias_(exp.func("COALESCE", copy_key.copy(), stored_key.copy()), key.name),
        exp.alias_(exp.func("BOOL_AND", exp.Is(this=copy_key.copy(), expression=exp.Null())), "is_gone"),
    ]
    return (
        exp.select(*projections)
        .from_(exp.alias_(exp.to_table(hashes.name), "copy", table=True))
        .join(
            exp.alias_(stored.copy(), "stored", table=True),
            on=exp.EQ(this=stored_key.copy(), expression=copy_key.copy()),
            join_type="FULL OUTER",
        )
        .where(_is_new_changed_or_deleted(copy_key, stored_key))
        .group_by(exp.Literal.number(1))
    )


def _is_new_changed_or_deleted(copy_key: exp.Column, stored_key: exp.Column) -> exp.Expr:
    """A bronze copy against the stored row of its key: a new key (nothing stored), a key back after
    a deletion (a stored tombstone), a changed content hash, or a stored key no longer in bronze
    and not yet a tombstone."""
    stored_deleted = exp.column("_is_deleted", table="stored")
    copy_hash = exp.column("_content_hash", table="copy")
    stored_hash = exp.column("_content_hash", table="stored")
    return exp.or_(
        exp.Is(this=stored_key.copy(), expression=exp.Null()),
        exp.and_(stored_deleted.copy(), exp.not_(exp.Is(this=copy_key.copy(), expression=exp.Null()))),
        exp.and_(exp.Is(this=copy_key.copy(), expression=exp.Null()), exp.not_(stored_deleted.copy())),
        exp.NEQ(this=copy_hash, expression=stored_hash),
    )


@macro()
def any_differs(evaluator: MacroEvaluator, *pairs: exp.Expr) -> exp.Expr:
    """TRUE when a stored attribute no longer reads as its source does: ``NOT (a <=> b AND ...)``.

    A change-driven gold model keeps copies of dimension attributes (the fact: film, store,
    is_late; the report: film and address names); a row whose copy differs from the dimension
    now must be recomputed. Each argument is a pair ``(stored.column, source_expression)``;
    the comparison is NULL-safe (``<=>``), so a NULL on one side only counts as a change.
    Usage: ``WHERE @any_differs((stored.film_id, inventory.film_id), (stored.city, address.city))``.
    """
    if not pairs:
        raise ValueError("@any_differs needs at least one (stored, source) pair")
    comparisons: list[exp.Expr] = []
    for pair in pairs:
        if not isinstance(pair, exp.Tuple) or len(pair.expressions) != 2:
            raise ValueError(f"@any_differs takes (stored, source) pairs, got {pair.sql()}")
        stored, source = pair.expressions
        comparisons.append(exp.NullSafeEQ(this=stored.copy(), expression=source.copy()))
    return exp.Not(this=exp.Paren(this=exp.and_(*comparisons)))


@macro()
def delete_tombstoned_keys(
    evaluator: MacroEvaluator, key: exp.Expr, tombstones: exp.Expr, condition: exp.Expr
) -> exp.Expr | None:
    """The post-statement that deletes the keys deleted in the source during this run's interval.

    An upsert (INCREMENTAL_BY_UNIQUE_KEY) never removes a row, so a change-driven model deletes
    after its merge the keys that ``tombstones`` marks (``condition``) with ``_changed_at`` in the
    interval: the silver copies read their staging table (``condition`` ``_is_deleted``), gold
    reads the deletion log silver.dvd_deletions (``source_table = 'rental'``). Only when really
    evaluating (not while loading, rendering a plan or running unit tests, which run the query
    only). Usage, after the model's query: ``@delete_tombstoned_keys(rental_id,
    silver.dvd_deletions, source_table = 'rental');``.
    """
    if evaluator.runtime_stage != "evaluating":
        return None
    start = exp.Literal.string(_start_ts(evaluator))
    deleted_keys = (
        exp.select(key.copy())
        .from_(exp.to_table(tombstones.sql(dialect=evaluator.dialect), dialect=evaluator.dialect))
        .where(exp.and_(condition.copy(), exp.GTE(this=exp.column("_changed_at"), expression=start)))
    )
    return exp.delete(
        exp.to_table(evaluator.this_model, dialect=evaluator.dialect),
        where=key.copy().isin(query=deleted_keys),
    )


@macro()
def changed_at(evaluator: MacroEvaluator) -> exp.Expr:
    """The ``_changed_at`` stamp of the rows a run writes: the end of the interval it processes.

    Why the interval end, not the execution time: the next daily run's interval starts right
    after it, so ``_changed_at >= @start_ts`` selects exactly the rows written for that run's
    interval, and a run that failed (its interval is retried with the next one) is included.
    """
    return exp.cast(exp.Literal.string(_end_ts(evaluator)), exp.DataType.build("TIMESTAMP_NTZ", dialect="databricks"))


@macro()
def written_since_interval_start(evaluator: MacroEvaluator) -> exp.Expr:
    """Audit condition: rows (not tombstones) written for the interval being processed or a retried one."""
    start = exp.cast(
        exp.Literal.string(_start_ts(evaluator)), exp.DataType.build("TIMESTAMP_NTZ", dialect="databricks")
    )
    return exp.and_(
        exp.not_(exp.column("_is_deleted")),
        exp.GTE(this=exp.column("_changed_at"), expression=start),
    )


@macro()
def changes_only(evaluator: MacroEvaluator, condition: exp.Expr) -> exp.Expr:
    """``condition`` (the change filter) on a daily run; TRUE on a build from the start of the history.

    A build from the start of the history is a build from empty (a first plan, a new model
    version, a restatement): every row is new, so a change-driven model takes all of them instead
    of working out which changed (joining millions of keys only to find that all of them did costs
    more than the rows themselves). The filter is dropped here, not left as ``TRUE OR ...``, so the
    engine does not compute the subqueries behind it. history_start is config.yaml's
    model_defaults.start (one YAML anchor).
    """
    start = evaluator.locals.get("start_ds")
    history_start = evaluator.var("history_start")
    if start and history_start and str(start)[:10] <= str(history_start)[:10]:
        return exp.true()
    return condition


def _start_ts(evaluator: MacroEvaluator) -> str:
    return str(evaluator.locals.get("start_ts") or "1970-01-01 00:00:00")


def _end_ts(evaluator: MacroEvaluator) -> str:
    return str(evaluator.locals.get("end_ts") or "1970-01-01 00:00:00")


def _engine_dialect(evaluator: MacroEvaluator) -> str:
    """The dialect of the engine the SQL will run on (the model's while models are loading).

    A copy of macros/airbyte.py's helper on purpose: SQLMesh stores each macro with the functions
    it calls, and a function imported from another macro file is stored as an import that only
    resolves with this project first on sys.path (two checkouts in one process see a change).
    """
    if evaluator.runtime_stage == "loading":
        return evaluator.dialect or "databricks"
    try:
        return evaluator.engine_adapter.dialect
    except Exception:  # no adapter available (e.g. rendering without a connection)
        return evaluator.dialect or "databricks"
