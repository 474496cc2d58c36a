"""The daily run: what a crontab line (or a scheduled CI job) calls, once a day.

``dvdrental daily`` = lock -> ingest -> ``sqlmesh run`` on prod -> janitor, with
one log file per run and one summary line at the end:

1. **Lock** (:mod:`dvdrental.warehouse.lock`): a second, overlapping run exits at once with
   exit code 75 and touches nothing. SQLMesh has no run-vs-run lock, and two
   overlapping runs would insert the same intervals twice.
2. **Ingest** the configured way (:func:`ingest.run.run_ingest`):
   the direct loader locally, the Airbyte connection in production
   (``DVD_INGEST_VIA=airbyte``).
3. **Run prod** (:func:`dvdrental.warehouse.context.run_prod`): the intervals due by each
   model's cron. A prod that was never planned is planned (built) first.
4. **Janitor**: drops expired environments and snapshot tables.

Every failure is a :class:`PipelineError` with its exit code; a failed audit,
blocking or not, is a :class:`TransformError` (exit 6). The log file
(``logs/daily_<UTC time>.log``, or under ``$DVD_LOG_DIR``) has every line of
the run with a timestamp.
"""

from __future__ import annotations

import logging
import os
import time
import typing as t
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from dvdrental.daily.load_guard import (
    ACCEPT_ENV,
    acceptance_from_env,
    format_acceptance,
    new_bronze_columns,
    read_verdicts,
    summarise,
)
from dvdrental.daily.run_log import RunLog
from dvdrental.warehouse.context import (
    PROD,
    observations,
    open_context,
    plan_prod,
    run_prod,
)
from dvdrental.warehouse.gateways import check_gateway
from dvdrental.warehouse.lock import pipeline_lock
from foundation.errors import ConfigError, PipelineError, TransformError, first_line
from foundation.paths import LOG_DIR, export_warehouse_path
from foundation.settings import temporary_env
from ingest.run import check_ingest_settings, ingest_via, run_ingest

logger = logging.getLogger(__name__)

LOG_DIR_ENV = "DVD_LOG_DIR"  # where the per-run log files go (default: <project>/logs)


@dataclass
class DailyResult:
    rows_loaded: int = 0
    planned_first: bool = False
    models_run: set[str] = field(default_factory=set)
    audits_passed: int = 0
    audits_failed: int = 0
    airbyte_changed_rows: int = 0  # rows whose _airbyte_meta lists a changed value, over all tables
    seconds: float = 0.0
    ok: bool = False
    log_file: Path | None = None

    def summary(self) -> str:
        status = "ok" if self.ok else "FAILED"
        planned = ", prod planned first" if self.planned_first else ""
        changed = ""
        if self.airbyte_changed_rows:
            changed = f", {self.airbyte_changed_rows:,} rows with values Airbyte changed"
        return (
            f"daily {status}: {self.rows_loaded:,} rows loaded, {len(self.models_run)} models run{planned}, "
            f"audits {self.audits_passed} passed / {self.audits_failed} failed{changed}, {self.seconds:.1f}s"
        )


def run_daily(
    gateway: str | None = None,
    via: str | None = None,
    log_dir: Path | None = None,
    execution_time: str | None = None,
    accept_mass_deletion: t.Sequence[tuple[str, int]] = (),
) -> DailyResult:
    """One daily run. Returns the result; raises :class:`PipelineError` on any failure.

    The summary line is printed (and logged) whatever the outcome;
    the lock is taken before the log file is opened, so a run refused by the
    lock leaves no log behind and changes nothing. ``execution_time`` is
    SQLMesh's (default: now): which intervals are due is decided by it.
    ``accept_mass_deletion``: (table, bronze keys) loads the broken-load guard accepts in this run
    only (a real mass deletion in the source; the refused run's message gives the pair).
    """
    # Every setting first: a bad one is refused before the lock, the log or any load.
    check_gateway(gateway)
    check_ingest_settings(via)
    accepted = list(accept_mass_deletion) or acceptance_from_env()
    log_dir = _writable_log_dir(log_dir)
    export_warehouse_path()
    started = time.monotonic()
    result = DailyResult()
    with pipeline_lock(purpose="dvdrental daily"):
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        result.log_file = log_dir / f"daily_{stamp}.log"
        with RunLog(result.log_file) as log:
            log.line(f"daily run started (gateway: {gateway or 'default'}, log: {result.log_file})")
            try:
                with temporary_env(**{ACCEPT_ENV: format_acceptance(accepted) or None}):
                    _steps(result, gateway, via, execution_time, log, log_dir)
                result.ok = True
            except PipelineError as error:
                log.line(f"error: {error}", terminal=False)  # the CLI prints it on stderr
                raise
            except KeyboardInterrupt as error:  # Ctrl-C, or SIGTERM (foundation.signals.Terminated)
                log.line(f"error: {error or 'interrupted (Ctrl-C)'}", terminal=False)
                raise
            except BaseException as error:
                log.line(f"error: unexpected {type(error).__name__}: {error}", terminal=False)
                raise
            finally:
                result.seconds = time.monotonic() - started
                log.line(result.summary())
    return result


def _writable_log_dir(log_dir: Path | None) -> Path:
    """``log_dir``, else ``$DVD_LOG_DIR``, else ``logs/``: created, or a ConfigError naming the setting."""
    configured = os.environ.get(LOG_DIR_ENV)
    path = log_dir or Path(configured or LOG_DIR)
    try:
        path.mkdir(parents=True, exist_ok=True)
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as error:
        where = f"{LOG_DIR_ENV}={configured}" if configured and not log_dir else f"the log directory {path}"
        raise ConfigError(
            f"{where}: cannot write run logs there ({error.strerror or error}); "
            f"point {LOG_DIR_ENV} at a writable directory."
        ) from None
    return path


def _steps(
    result: DailyResult, gateway: str | None, via: str | None, execution_time: str | None, log: RunLog, log_dir: Path
) -> None:
    chosen = ingest_via(via)
    log.line(f"step 1/3 ingest ({chosen})")
    ingested = run_ingest(chosen, progress=False)
    log.line(ingested.summary)
    result.rows_loaded = ingested.rows

    log.line("step 2/3 sqlmesh run prod")
    with open_context(gateway) as ctx:  # released on exit: the warehouse is free for readers again
        observed = observations(ctx)
        try:
            _plan_if_new_then_run(ctx, result, gateway, execution_time, log)
        finally:  # what SQLMesh evaluated, whatever the outcome, for the summary line
            result.models_run |= observed.models_run
            result.audits_passed += observed.audits_passed
            result.audits_failed += observed.audits_failed
        # After a run that reached the warehouse (a refused load's error line already says what the guard saw).
        _report_loads(ctx, result, log, log_dir)
        if observed.models_with_failed_audits:
            failed = ", ".join(sorted(observed.models_with_failed_audits))
            raise TransformError(f"audits failed on {failed}; see the log above.")

        log.line("step 3/3 janitor (expired environments and snapshots)")
        try:
            ctx.run_janitor(ignore_ttl=False)
        except Exception as error:
            raise TransformError(f"the SQLMesh janitor failed: {error}") from error


def _report_loads(ctx: t.Any, result: DailyResult, log: RunLog, log_dir: Path) -> None:
    """What the broken-load guard saw (values Airbyte changed, loads accepted by a person) and new source columns."""
    verdicts = read_verdicts(ctx)
    result.airbyte_changed_rows = sum(v.changed_rows for v in verdicts)
    for line in summarise(verdicts):
        log.line(line)
    for column in new_bronze_columns(ctx, log_dir / ".bronze_columns_reported.json"):
        log.line(f"new source column in bronze, read by no model (reported once): {column}")


def _plan_if_new_then_run(
    ctx: t.Any, result: DailyResult, gateway: str | None, execution_time: str | None, log: RunLog
) -> None:
    """``sqlmesh run`` on prod; a prod that was never planned is planned (built) first."""
    try:
        prod = ctx.state_reader.get_environment(PROD)
    except Exception as error:  # the state database is down or refuses us
        raise TransformError(
            f"Cannot read SQLMesh's state ({gateway or 'default'} gateway): {first_line(error)}"
        ) from None
    if prod is None:
        log.line("prod has never been planned: planning it first (builds every model)")
        plan_prod(gateway, ctx=ctx)
        result.planned_first = True
    models_before = len(observations(ctx).models_run)
    try:
        run_prod(gateway, ctx=ctx, execution_time=execution_time)
    except TransformError as error:  # blocking audits stop the run before they are reported
        result.audits_failed += error.failed_audits
        raise
    if len(observations(ctx).models_run) == models_before:
        log.line("nothing was due: every model's intervals up to now are done (crons are @daily/@monthly)")
