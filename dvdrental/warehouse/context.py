"""The SQLMesh context life cycle: open one on a gateway, plan or run prod, release it.

The demo, daily and plan-diff code call these instead of shelling out to ``sqlmesh``:

* :func:`open_context` - a context on this project (or given paths), released on exit;
* :func:`plan_prod` - plan ``prod`` and apply it without prompts (first build,
  or after a model change): builds what changed, backfills what is missing;
* :func:`run_prod` - ``sqlmesh run`` on prod: evaluates only the intervals that are
  due by each model's cron (silver and gold daily, the monthly snapshot monthly).

Failures (a model error, a blocking audit) become :class:`TransformError`
(:mod:`dvdrental.warehouse.failures`); SQLMesh only swaps prod views after every model of
the plan succeeded, so prod keeps serving the previous state. What SQLMesh evaluated is
recorded by the context's :class:`~dvdrental.warehouse.console.PipelineConsole`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import typing as t
from pathlib import Path

from dvdrental.warehouse.failures import transform_failure
from dvdrental.warehouse.gateways import LOCAL, require_settings
from foundation.warehouse_file import connect_when_free, is_lock_error, locked_warehouse_error
from foundation.errors import PipelineError
from foundation.paths import PROJECT_ROOT, WAREHOUSE_ENV, export_warehouse_path
from foundation.settings import temporary_env

if t.TYPE_CHECKING:
    import duckdb
    from sqlmesh import Context

    from dvdrental.warehouse.console import RunObservations

logger = logging.getLogger(__name__)

PROD = "prod"


def context(gateway: str | None = None, paths: t.Sequence[str | os.PathLike[str]] | None = None) -> "Context":
    """A SQLMesh context on this project (or ``paths``), on ``gateway`` (default: config's).

    Prefer :func:`open_context`, which releases it. Its console is a fresh
    :class:`~dvdrental.warehouse.console.PipelineConsole` (:func:`observations` reads it).
    """
    export_warehouse_path()
    # No anonymous usage pings from pipeline runs (they also stall for seconds offline).
    os.environ.setdefault("SQLMESH__DISABLE_ANONYMIZED_ANALYTICS", "true")
    # SQLMesh is imported here, not at module top: commands import this module and their
    # `--help` should not pay for loading SQLMesh.
    from sqlmesh import Context
    from sqlmesh.core import analytics
    from sqlmesh.core.console import set_console

    from dvdrental.alerts import guard_notifications
    from dvdrental.warehouse.console import PipelineConsole

    if os.environ["SQLMESH__DISABLE_ANONYMIZED_ANALYTICS"].lower() in ("1", "true", "yes"):
        analytics.disable_analytics()

    probe = None
    if gateway and gateway != "local":
        require_settings(gateway)  # a one-line error naming each missing variable
    else:
        require_settings(LOCAL)  # its memory limit, before config.yaml refuses it in a traceback
        probe = _hold_free_warehouse()
    try:
        guard_notifications()  # a notification receiver that is down never decides a run's outcome
        set_console(PipelineConsole())  # the Context takes the console that is set when it is made
        # config.yaml renders the databricks/spark gateways only when asked for by name; the
        # variable is set only while the config loads, so it does not leak into later contexts.
        with temporary_env(SQLMESH_GATEWAY=gateway or os.environ.get("SQLMESH_GATEWAY")):
            ctx = Context(paths=[str(p) for p in (paths or [PROJECT_ROOT])], gateway=gateway)
        if probe is not None:
            # SQLMesh's own connection, opened while the probe still holds the file: DuckDB hands
            # a second connection in the same process the database the probe opened (same path,
            # same configuration, see connect_when_free), so the file's lock is never let go.
            ctx.engine_adapter.connection  # noqa: B018 - opening it is the point
        return ctx
    finally:
        if probe is not None:
            probe.close()


def observations(ctx: "Context") -> "RunObservations":
    """What the context's console recorded so far: models evaluated, audits, failures."""
    from dvdrental.warehouse.console import PipelineConsole

    console = ctx.console
    if not isinstance(console, PipelineConsole):  # a context not opened by context()
        raise TypeError("the context was not opened by dvdrental.warehouse.context.context()")
    return console.observed


def _hold_free_warehouse() -> "duckdb.DuckDBPyConnection | None":
    """Open the DuckDB warehouse once it is free, or fail with one clear line when it stays held.

    SQLMesh opens the file lazily, on its first state query, and a lock conflict there surfaces
    as a raw DuckDB traceback. This probe waits (:func:`connect_when_free`) for a reader that holds
    the file for one query and turns a process that keeps it open into a :class:`WarehouseError`
    (exit 4) before anything is read or written. The caller keeps the returned connection until
    SQLMesh's own is open: closed earlier, a reader arriving in between would take the file and
    fail the run after all. None when there is nothing to hold (no file yet, or this process
    already has it open in another way, which is SQLMesh's to report).
    """
    import duckdb

    path = os.environ.get(WAREHOUSE_ENV)
    if not path or not os.path.exists(path):
        return None  # nobody can hold a file that does not exist yet
    try:
        # A reader holding it for one query is waited for; opened as SQLMesh opens it (same configuration).
        return connect_when_free(Path(path), as_sqlmesh=True)
    except duckdb.Error as error:
        if is_lock_error(error):
            raise locked_warehouse_error(path, error) from None
        return None


@contextlib.contextmanager
def open_context(
    gateway: str | None = None, paths: t.Sequence[str | os.PathLike[str]] | None = None
) -> t.Iterator["Context"]:
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
    with _owned(ctx, gateway) as ctx:
        failures = observations(ctx).failures
        already = len(failures)
        try:
            ctx.plan(PROD, auto_apply=True, no_prompts=True, skip_tests=skip_tests)
        except Exception as error:  # SQLMesh raises several types; all mean "prod unchanged"
            raise transform_failure("sqlmesh plan prod", [error, *failures[already:]], ctx) from error


def run_prod(
    gateway: str | None = None,
    ctx: "Context | None" = None,
    execution_time: t.Any = None,
    ignore_cron: bool = False,
) -> t.Any:
    """Run the due intervals of prod; return SQLMesh's CompletionStatus, raise TransformError on failure.

    ``execution_time`` (default: now) decides which intervals are due. Given, it is also the run's
    end: SQLMesh otherwise ends a run at the real time, so a run dated days ahead (a catch-up, a
    test) would find nothing past tomorrow due. The janitor is not run here (SQLMesh runs it
    *before* the models): the data comes first, housekeeping after (:func:`run_janitor`).
    """
    with _owned(ctx, gateway) as ctx:
        failures = observations(ctx).failures
        already = len(failures)
        try:
            status = ctx.run(
                PROD, execution_time=execution_time, end=execution_time, ignore_cron=ignore_cron, skip_janitor=True
            )
            if status.is_failure:
                raise transform_failure("sqlmesh run prod", failures[already:], ctx)
        except PipelineError:
            raise
        except Exception as error:
            raise transform_failure("sqlmesh run prod", [error, *failures[already:]], ctx) from error
        return status  # sqlmesh CompletionStatus: SUCCESS or NOTHING_TO_DO


def run_janitor(ctx: "Context") -> str | None:
    """Drop expired environments and snapshot tables; return what failed (None: all done).

    Housekeeping never blocks the data: config.yaml sets ``janitor.warn_on_delete_failure``, so a
    drop SQLMesh cannot do (a schema the service principal may not drop, an object changed by
    hand) is a warning it logs, and the state keeps the environment for the next pass. Anything
    else the janitor raises (the state database gone) is reported the same way: the data this run
    refreshed is served either way.
    """
    warnings = observations(ctx).warnings
    already = len(warnings)
    try:
        ctx.run_janitor(ignore_ttl=False)
    except Exception as error:
        return f"the SQLMesh janitor failed: {error}"
    failed = [w for w in warnings[already:] if w.startswith("Janitor completed with failures")]
    return "\n".join(failed) or None


@contextlib.contextmanager
def _owned(ctx: "Context | None", gateway: str | None) -> t.Iterator["Context"]:
    """``ctx`` as it is, or a context of our own on ``gateway`` released at the end."""
    if ctx is not None:
        yield ctx
    else:
        with open_context(gateway) as own:
            yield own
