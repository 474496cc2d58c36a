"""Data differences of the changed gold models: prod against the change, built in a throwaway env.

The change is built into the dev environment ``plan_diff_ci`` on the local DuckDB gateway,
each model is compared with prod by SQLMesh's ``table_diff`` (row counts, matches, schema
changes, a sample of differing rows narrowed to the columns that differ; numbers at
``DIFF_DECIMALS`` places), then the
environment is invalidated and its views dropped at once.
"""

from __future__ import annotations

import logging
import typing as t
from contextlib import contextmanager

from dvdrental.reports.plan_diff.report import (
    DIFF_DECIMALS,
    DIFF_ENV,
    SAMPLE_ROWS,
    PlanDiffReport,
    TableDiffSummary,
)
from foundation.errors import TransformError, first_line

if t.TYPE_CHECKING:
    from sqlmesh import Context


def table_diffs(ctx: Context, models: list[str], report: PlanDiffReport) -> None:
    """Build the change in a throwaway dev environment, diff each gold model against prod, drop it."""
    try:
        ctx.plan(DIFF_ENV, auto_apply=True, no_prompts=True, skip_tests=True, skip_linter=True)
    except Exception as error:
        ctx.invalidate_environment(DIFF_ENV, sync=True)
        raise TransformError(f"Building the change into the '{DIFF_ENV}' environment failed: {error}") from error
    try:
        for model in models:
            try:
                with _quiet_sql_log():
                    diffs = ctx.table_diff(
                        source="prod",
                        target=DIFF_ENV,
                        select_models=[model],
                        limit=SAMPLE_ROWS,
                        decimals=DIFF_DECIMALS,
                        show=False,
                        warn_grain_check=True,
                        skip_grain_check=False,
                    )
                    summary = [_summarize(model, diff) for diff in diffs]
            except Exception as error:
                report.notes.append(f"table_diff of {model} failed: {first_line(error)}")
                continue
            if not diffs:
                change = report.change_of(model)
                why = change.why_no_table_diff if change else "the change reuses prod's table"
                report.notes.append(f"{model}: same physical table in prod and in the change ({why}): no table diff.")
            report.table_diffs.extend(summary)
    finally:
        try:
            ctx.invalidate_environment(DIFF_ENV, sync=True)
        except Exception as error:  # the report is still right; say what was left behind
            report.notes.append(f"Could not drop the '{DIFF_ENV}' environment: {error}")


@contextmanager
def _quiet_sql_log() -> t.Iterator[None]:
    """table_diff logs every statement it runs at WARNING; keep that out of the CI output."""
    sql_logger = logging.getLogger("sqlmesh.core.engine_adapter.base")
    previous = sql_logger.level
    sql_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        sql_logger.setLevel(previous)


def _summarize(model: str, diff: t.Any) -> TableDiffSummary:
    schema = diff.schema_diff()
    rows = diff.row_diff()
    columns, values = _differing_sample(diff, rows.sample)
    return TableDiffSummary(
        model=model,
        source_rows=int(rows.source_count),
        target_rows=int(rows.target_count),
        joined_rows=int(rows.join_count),
        full_match_rows=int(rows.full_match_count),
        source_only_rows=int(rows.s_only_count),
        target_only_rows=int(rows.t_only_count),
        schema_added=tuple(f"{name} {dtype.sql()}" for name, dtype in schema.added),
        schema_removed=tuple(f"{name} {dtype.sql()}" for name, dtype in schema.removed),
        schema_modified=tuple(f"{name}: {a.sql()} -> {b.sql()}" for name, (a, b) in schema.modified.items()),
        sample_columns=columns,
        sample_rows=values,
    )


def _differing_sample(diff: t.Any, sample: t.Any) -> tuple[tuple[str, ...], tuple[tuple, ...]]:
    """The sample narrowed to the grain and the columns that differ in it (prod ``s__``, change ``t__``)."""
    if sample is None or len(sample) == 0:
        return (), ()
    sample = sample.head(SAMPLE_ROWS)
    try:
        keys = [str(k) for k in diff.key_columns[2]]
    except Exception:
        keys = []
    keep: list[str] = []
    for column in sample.columns:
        column = str(column)
        if not column.startswith("s__"):
            continue
        name = column[3:]
        other = f"t__{name}"
        if other not in sample.columns:
            continue
        differs = any(
            not (a == b or (a != a and b != b))  # NaN-safe equality
            for a, b in zip(sample[column].tolist(), sample[other].tolist(), strict=True)
        )
        if name in keys and not differs:
            keep.insert(0, column)  # the grain, once
        elif differs:
            keep += [column, other]
    keep = keep or [str(c) for c in sample.columns]
    return tuple(keep), tuple(tuple(row) for row in sample[keep].itertuples(index=False))
