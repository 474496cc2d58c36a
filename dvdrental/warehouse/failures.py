"""Turning what SQLMesh raised or logged into one :class:`PipelineError` a user can act on.

A failed plan or run becomes a :class:`TransformError` (exit 6) whose first line names every failed
audit with its model and bad-row count, followed by the first rows each audit query returned (for
the freshness audit: which bronze table, how old). A DuckDB lock conflict becomes a
:class:`WarehouseError` (exit 4) instead: another process holds the file.
"""

from __future__ import annotations

import os
import typing as t

from foundation.errors import BrokenLoadError, PipelineError, SchemaDriftError, TransformError, first_line
from foundation.warehouse_file import is_lock_error, locked_warehouse_error

if t.TYPE_CHECKING:
    from sqlmesh import Context

_AUDIT_ROWS_SHOWN = 5


def transform_failure(what: str, errors: t.Sequence[BaseException], ctx: "Context") -> PipelineError:
    """The error to raise: WarehouseError when another process holds the DuckDB file, else TransformError."""
    for error in errors:
        if is_lock_error(error):
            return locked_warehouse_error(os.environ.get("DVD_WAREHOUSE_PATH", "(DuckDB warehouse)"), error)
    schema_changes = [_bronze_schema_change(e) for e in errors]
    for change in schema_changes:
        if change:
            return SchemaDriftError(change)
    failed_audits = len({id(a) for e in errors for a in _audit_errors(e)})
    refused = _refused_loads(errors, ctx)
    if refused:
        return BrokenLoadError(refused, failed_audits=failed_audits)
    message = _describe_failure(what, errors, ctx)
    lint_errors = getattr(getattr(ctx.console, "observed", None), "lint_errors", [])
    if lint_errors:  # SQLMesh's LinterError says only that there were some; name them (`sqlmesh lint` too)
        message += "\n" + "\n".join(f"  lint: {line}" for line in lint_errors)
    return TransformError(message, failed_audits=failed_audits)


# The broken-load guard's audit (models/staging/bronze_loads.sql) and the signal before it (signals/bronze_schema.py).
GUARD_MODEL = "staging.bronze_loads"
GUARD_AUDIT = "load_is_complete"
_SCHEMA_CHANGED = "Bronze schema changed: "


def _refused_loads(errors: t.Sequence[BaseException], ctx: "Context") -> str | None:
    """One line naming every load the guard refused (table, live and bronze keys, how to accept it), or None."""
    guard = [
        a
        for e in errors
        for a in _audit_errors(e)
        if a.audit_name == GUARD_AUDIT and GUARD_MODEL in str(getattr(a, "model_name", ""))
    ]
    if not guard:
        return None
    try:
        rows = ctx.engine_adapter.fetchall(guard[0].query)
    except Exception as error:  # the audit failed; its rows are a courtesy
        return f"A broken load was refused ({first_line(error)}); nothing was refreshed: see {GUARD_MODEL}."
    parts = []
    for table, live_keys, bronze_keys, verdict, to_accept in rows:
        live = "no accepted load yet" if live_keys is None else f"{int(live_keys):,} live keys"
        parts.append(f"bronze.raw_dvd_{table} has {int(bronze_keys):,} keys against {live} ({verdict}); to accept it: {to_accept}")
    return (
        "Refused a broken load, nothing was refreshed (silver and gold keep the previous run): "
        + "; ".join(parts)
        + " for one run (dvdrental daily --accept-mass-deletion TABLE:KEYS, or the variable before sqlmesh run)."
    )


def _bronze_schema_change(error: BaseException) -> str | None:
    """The signal's sentence about a bronze column gone or retyped, out of SQLMesh's wrapped error."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = str(current)
        if _SCHEMA_CHANGED in text:
            # SQLMesh quotes the signal's code before the error: the message is the last mention.
            sentence = text[text.rindex(_SCHEMA_CHANGED) :].splitlines()[0]
            return sentence.split(" 'bronze_columns_as_declared'")[0].strip()
        current = current.__cause__ or current.__context__
    return None


def _describe_failure(what: str, errors: t.Sequence[BaseException], ctx: "Context") -> str:
    """One summary line, then one line per failed audit (audit, model, bad rows) with its first rows.

    ``sqlmesh run`` writes a model's table before auditing it, so the audited model itself holds
    the new rows; what a blocking failure protects is everything downstream (not run at all).
    ``sqlmesh plan`` builds into new tables and swaps prod's views only when all succeeded.
    """
    unchanged = (
        "Prod views are unchanged."
        if "plan" in what
        else "Models downstream of a failure were not run: they keep the previous results."
    )
    if not errors:
        return f"{what} failed: see the SQLMesh output above. {unchanged}"
    audit_errors = list(dict.fromkeys(a for e in errors for a in _audit_errors(e)))
    if audit_errors:
        failed = ", ".join(f"{a.audit_name} on {a.model_name} ({_bad_rows(a)})" for a in audit_errors)
        others = [e for e in errors if not _audit_errors(e) and not _is_wrapper(e)]
        message = f"{what} failed: audit{'s' if len(audit_errors) > 1 else ''} {failed}"
        if others:
            message += "; " + "; ".join(dict.fromkeys(first_line(e) for e in others))
    else:
        message = f"{what} failed: " + "; ".join(dict.fromkeys(first_line(e) for e in errors))
    for audit_error in audit_errors:
        message += f"\n  audit {audit_error.audit_name} on {audit_error.model_name}: {_bad_rows(audit_error)}"
        try:
            rows = ctx.engine_adapter.fetchall(audit_error.query.limit(_AUDIT_ROWS_SHOWN))
            for row in rows:
                message += "\n    (" + ", ".join("NULL" if v is None else str(v) for v in row) + ")"
        except Exception:  # best effort: the message is still useful without the rows
            pass
    return message + f"\n{unchanged}"


def _bad_rows(audit_error: t.Any) -> str:
    count = getattr(audit_error, "count", None)
    if count is None:
        return str(audit_error)
    return f"{count} bad row{'s' if count != 1 else ''}"


def _is_wrapper(error: BaseException) -> bool:
    """SQLMesh's per-node wrapper around audit failures ("Execution failed for node ...")."""
    return "Execution failed for node" in str(error) or type(error).__name__ in ("NodeAuditsErrors", "PlanError")


def _audit_errors(error: BaseException) -> list:
    from sqlmesh.utils.errors import AuditError

    found: list = []
    seen: set[int] = set()
    stack: list[BaseException | None] = [error]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, AuditError):
            found.append(current)
        stack.extend([current.__cause__, current.__context__])
        for attribute in ("errors", "audit_errors"):
            nested = getattr(current, attribute, None)
            if isinstance(nested, (list, tuple)):
                stack.extend(e for e in nested if isinstance(e, BaseException))
    return found
