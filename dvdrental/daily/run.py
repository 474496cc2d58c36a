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
4. **Janitor**: drops expired environments and snapshot tables, *after* the data is refreshed.
   A drop that fails is a warning in the summary, the log and an alert, and the run still exits 0:
   the data a person relies on is fresh, and a non-zero code would tell the scheduler to rerun
   (or page for) a refresh that succeeded. SQLMesh runs its janitor before the models; here it
   is skipped there and run once, afterwards.

Every failure is a :class:`PipelineError` with its exit code; a failed audit,
blocking or not, is a :class:`TransformError` (exit 6). The log file
(``logs/daily_<UTC time>.log``, or under ``$DVD_LOG_DIR``) has every line of
the run with a timestamp. Every failure, and a housekeeping warning, is also sent to the alert
targets config.yaml configures (:mod:`dvdrental.alerts`), with the run id, step and log file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import typing as t
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from dvdrental.alerts import DailyAlert, send_daily_alert
from dvdrental.alerts.settings import check_alert_settings
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
    run_janitor,
    run_prod,
)
from dvdrental.warehouse.gateways import check_gateway
from dvdrental.warehouse.lock import pipeline_lock
from foundation.errors import ConfigError, LockHeldError, PipelineError, TransformError, first_line
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
    janitor_warning: str | None = None  # what housekeeping could not do (the data was refreshed)
    step: str = "lock"  # the step running (or that failed): settings, lock, ingest, transform, janitor
    run_id: str | None = None  # the log file's UTC stamp
    seconds: float = 0.0
    ok: bool = False
    log_file: Path | None = None

    def summary(self) -> str:
        status = "ok" if self.ok else "FAILED"
        planned = ", prod planned first" if self.planned_first else ""
        changed = ""
        if self.airbyte_changed_rows:
            changed = f", {self.airbyte_changed_rows:,} rows with values Airbyte changed"
        housekeeping = ", housekeeping WARNING (see the log)" if self.janitor_warning else ""
        return (
            f"daily {status}: {self.rows_loaded:,} rows loaded, {len(self.models_run)} models run{planned}, "
            f"audits {self.audits_passed} passed / {self.audits_failed} failed{changed}{housekeeping}, "
            f"{self.seconds:.1f}s"
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
    try:
        check_alert_settings()
        check_gateway(gateway)
        check_ingest_settings(via)
        accepted = list(accept_mass_deletion) or acceptance_from_env()
        log_dir = _writable_log_dir(log_dir)
    except PipelineError as error:  # on a schedule, a broken setting is a failure like any other
        send_daily_alert(DailyAlert("settings", str(error), None, None), gateway)
        raise
    export_warehouse_path()
    started = time.monotonic()
    result = DailyResult()
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(pipeline_lock(purpose="dvdrental daily"))
        except LockHeldError as error:  # an earlier run still holds it: maybe stuck, a person should look
            send_daily_alert(DailyAlert("lock", str(error), None, None), gateway)
            raise
        result.run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        result.log_file = log_dir / f"daily_{result.run_id}.log"
        with RunLog(result.log_file) as log:
            log.line(f"daily run started (gateway: {gateway or 'default'}, log: {result.log_file})")
            try:
                with temporary_env(**{ACCEPT_ENV: format_acceptance(accepted) or None}):
                    _steps(result, gateway, via, execution_time, log, log_dir)
                result.ok = True
            except BaseException as error:
                _report_failure(result, error, gateway, log)
                raise
            finally:
                result.seconds = time.monotonic() - started
                log.line(result.summary())
            if result.janitor_warning:
                send_daily_alert(_alert(result, result.janitor_warning, failed=False), gateway)
    return result


def _alert(result: DailyResult, message: str, failed: bool = True) -> DailyAlert:
    return DailyAlert(result.step, message, result.run_id, result.log_file, failed=failed)


def _report_failure(result: DailyResult, error: BaseException, gateway: str | None, log: RunLog) -> None:
    """The error's line in the log (the CLI prints it on stderr), and the same line to a person."""
    if isinstance(error, PipelineError):
        message = str(error)
    elif isinstance(error, KeyboardInterrupt):  # Ctrl-C, or SIGTERM (foundation.signals.Terminated)
        message = str(error) or "interrupted (Ctrl-C)"
    else:
        message = f"unexpected {type(error).__name__}: {error}"
    log.line(f"error: {message}", terminal=False)
    send_daily_alert(_alert(result, message), gateway)


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
    result.step = "ingest"
    log.line(f"step 1/3 ingest ({chosen})")
    ingested = run_ingest(chosen, progress=False)
    log.line(ingested.summary)
    result.rows_loaded = ingested.rows

    result.step = "transform"
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

        result.step = "janitor"
        log.line("step 3/3 janitor (expired environments and snapshots)")
        result.janitor_warning = run_janitor(ctx)
        if result.janitor_warning:
            log.line(f"warning: housekeeping failed, the data is refreshed all the same: {result.janitor_warning}")


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
