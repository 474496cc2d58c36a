"""Small helpers around SQLMesh's Python API: build and refresh the warehouse.

The demo and daily commands call these instead of shelling out to ``sqlmesh``:

* :func:`plan_prod` - plan ``prod`` and apply it without prompts (first build,
  or after a model change): builds what changed, backfills what is missing.
* :func:`run_prod` - ``sqlmesh run`` on prod: evaluates only the intervals that are
  due by each model's cron (silver and gold daily, the monthly snapshot monthly).

Failures (a model error, a blocking audit) become :class:`TransformError`; SQLMesh
only swaps prod views after every model of the plan succeeded, so prod keeps serving
the previous state. For a failed audit the message carries the first rows the audit
query returned (for the freshness audit: which bronze table, how old).
"""

from __future__ import annotations

import contextlib
import logging
import os
import typing as t
from pathlib import Path

from ingest.errors import PipelineError, TransformError, WarehouseError
from ingest.paths import PROJECT_ROOT, export_warehouse_path

if t.TYPE_CHECKING:
    from sqlmesh import Context

logger = logging.getLogger(__name__)

PROD = "prod"
_AUDIT_ROWS_SHOWN = 5


def context(gateway: str | None = None, paths: t.Sequence[str] | None = None) -> "Context":
    """A SQLMesh context on this project (or ``paths``), on ``gateway`` (default: config's)."""
    export_warehouse_path()
    # No anonymous usage pings from pipeline runs (they also stall for seconds offline).
    os.environ.setdefault("SQLMESH__DISABLE_ANONYMIZED_ANALYTICS", "true")
    from sqlmesh import Context
    from sqlmesh.core import analytics

    if os.environ["SQLMESH__DISABLE_ANONYMIZED_ANALYTICS"].lower() in ("1", "true", "yes"):
        analytics.disable_analytics()

    if (gateway or "local") == "local":
        _refuse_locked_warehouse()
    else:
        from ingest.gateways import require_settings

        require_settings(gateway)  # a one-line error naming each missing variable
    # config.yaml renders the databricks/spark gateways only when asked for by name; the
    # variable is set only while the config loads, so it does not leak into later contexts.
    previous = os.environ.get("SQLMESH_GATEWAY")
    if gateway:
        os.environ["SQLMESH_GATEWAY"] = gateway
    try:
        return Context(paths=[str(p) for p in (paths or [PROJECT_ROOT])], gateway=gateway)
    finally:
        if previous is None:
            os.environ.pop("SQLMESH_GATEWAY", None)
        else:
            os.environ["SQLMESH_GATEWAY"] = previous


def _refuse_locked_warehouse() -> None:
    """Fail with one clear line when another process holds the DuckDB warehouse.

    SQLMesh opens the file lazily, on its first state query, and a lock conflict
    there surfaces as a raw DuckDB traceback. A short probe here turns it into a
    :class:`WarehouseError` (exit 4) before anything is read or written.
    """
    import duckdb

    path = os.environ.get("DVD_WAREHOUSE_PATH")
    if not path or not os.path.exists(path):
        return  # nobody can hold a file that does not exist yet
    try:
        duckdb.connect(path).close()
    except duckdb.Error as error:
        if _is_lock_error(error):
            raise _locked_warehouse_error(path, error) from None
        # anything else (e.g. this process already has it open differently) is SQLMesh's to report


def _is_lock_error(error: BaseException) -> bool:
    return "could not set lock on file" in str(error).lower()


def _locked_warehouse_error(path: str, error: BaseException) -> WarehouseError:
    return WarehouseError(
        f"The warehouse {path} is open in another process (a running `sqlmesh ui`, notebook, Python "
        f"session or `dvdrental` command?). Close it and run again; nothing was changed. ({_first_line(error)})"
    )


def duckdb_warehouse(gateway: str | None = None) -> "Path | None":
    """The DuckDB file behind ``gateway`` (default: config's), or None for other engines.

    Readers (answers, dashboard) open it read-only instead of building a SQLMesh context:
    no write lock, and nothing to load. A missing file is a clear error.
    """
    from sqlmesh.core.config import Config
    from sqlmesh.core.config.loader import load_config_from_paths

    export_warehouse_path()
    config = load_config_from_paths(Config, project_paths=[PROJECT_ROOT / "config.yaml"])
    connection = config.get_connection(gateway)
    if connection.type_ != "duckdb":
        return None
    path = Path(str(connection.database))
    if not path.exists():
        raise WarehouseError(f"No warehouse at {path}: run `dvdrental ingest` and build the models first.")
    return path


@contextlib.contextmanager
def open_context(gateway: str | None = None, paths: t.Sequence[str] | None = None) -> t.Iterator["Context"]:
    """:func:`context`, released on exit (see :func:`release`)."""
    ctx = context(gateway, paths)
    try:
        yield ctx
    finally:
        release(ctx)


def release(ctx: "Context") -> None:
    """Close the context *and* its engine connection.

    ``Context.close()`` alone keeps SQLMesh's cached DuckDB connection open, so the
    warehouse file stays locked for other processes and for read-only connections in
    this one (``dvdrental answers``, tests) until the process exits.
    """
    ctx.close()
    try:
        ctx.engine_adapter.close()
    except Exception:  # already closed, or an engine without a closable pool
        logger.debug("engine adapter close failed", exc_info=True)


def plan_prod(gateway: str | None = None, ctx: "Context | None" = None, skip_tests: bool = False) -> None:
    """Plan prod and apply it (auto-apply, no prompts); raise TransformError on failure.

    SQLMesh runs the unit tests (tests/test_*.yaml) before planning unless ``skip_tests``.
    """
    owned = ctx is None
    ctx = ctx or context(gateway)
    try:
        with _failed_models(ctx) as failures:
            ctx.plan(PROD, auto_apply=True, no_prompts=True, skip_tests=skip_tests)
    except Exception as error:  # SQLMesh raises several types; all mean "prod unchanged"
        raise _failure("sqlmesh plan prod", [error, *failures], ctx) from error
    finally:
        if owned:
            release(ctx)


def run_prod(
    gateway: str | None = None,
    ctx: "Context | None" = None,
    execution_time: t.Any = None,
    ignore_cron: bool = False,
) -> t.Any:
    """Run the due intervals of prod; return SQLMesh's CompletionStatus, raise TransformError on failure.

    ``execution_time`` (default: now) decides which intervals are due.
    """
    owned = ctx is None
    ctx = ctx or context(gateway)
    try:
        with _failed_models(ctx) as failures:
            status = ctx.run(PROD, execution_time=execution_time, ignore_cron=ignore_cron)
        if status.is_failure:
            raise _failure("sqlmesh run prod", failures, ctx)
    except PipelineError:
        raise
    except Exception as error:
        raise _failure("sqlmesh run prod", [error, *failures], ctx) from error
    finally:
        if owned:
            release(ctx)
    return status  # sqlmesh CompletionStatus: SUCCESS or NOTHING_TO_DO


@contextlib.contextmanager
def _failed_models(ctx: "Context") -> t.Iterator[list]:
    """Collect the errors SQLMesh reports for failed models (it logs them, a run does not raise)."""
    failures: list = []
    console = ctx.console
    original = console.log_failed_models

    def log_failed_models(errors: list) -> None:
        failures.extend(errors)
        original(errors)

    console.log_failed_models = log_failed_models  # type: ignore[method-assign]
    try:
        yield failures
    finally:
        console.log_failed_models = original  # type: ignore[method-assign]


def _failure(what: str, errors: t.Sequence[BaseException], ctx: "Context") -> PipelineError:
    """The error to raise: WarehouseError when another process holds the DuckDB file, else TransformError."""
    for error in errors:
        if _is_lock_error(error):
            return _locked_warehouse_error(os.environ.get("DVD_WAREHOUSE_PATH", "(DuckDB warehouse)"), error)
    failed_audits = len({id(a) for e in errors for a in _audit_errors(e)})
    return TransformError(_describe_failure(what, errors, ctx), failed_audits=failed_audits)


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
            message += "; " + "; ".join(dict.fromkeys(_first_line(e) for e in others))
    else:
        message = f"{what} failed: " + "; ".join(dict.fromkeys(_first_line(e) for e in errors))
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

    found, seen, stack = [], set(), [error]
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


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
