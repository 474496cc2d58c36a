"""Macros for bronze rows that arrive before the rows they point at.

The local loader reads every table from one snapshot; Airbyte reads its streams one after another
(source-postgres), so bronze can hold a rental inserted after the customer stream was read,
pointing at a customer that only the next sync brings. staging.dvd_rental leaves such a rental
out of the run and takes it in the next one; docs/airbyte.md, "Bronze read at different moments".
"""

from __future__ import annotations

from sqlglot import exp
from sqlmesh import macro
from sqlmesh.core.macros import MacroEvaluator

# How long a row may wait for the rows it points at, in days. The source's change time is local
# time without a zone (timestamp without time zone) and the extraction an instant, so a day also
# covers any difference of time zone; a daily sync brings the missing rows well within it.
WAIT_LIMIT_DAYS = 1


@macro()
def changed_near_extract(evaluator: MacroEvaluator, changed_at: exp.Expr, extracted_at: exp.Expr) -> exp.Expr:
    """TRUE for a row that changed at most a day before it was extracted: one that can still be
    waiting for its references. A row older than that which points nowhere is a real orphan."""
    ntz = exp.DataType.build("TIMESTAMP_NTZ", dialect="databricks")
    limit = exp.Interval(this=exp.Literal.string(str(WAIT_LIMIT_DAYS)), unit=exp.var("DAY"))
    return exp.GTE(
        this=exp.cast(changed_at.copy(), ntz),
        expression=exp.Sub(this=exp.cast(extracted_at.copy(), ntz), expression=limit),
    )
