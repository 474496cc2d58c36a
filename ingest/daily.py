"""The daily run: what a crontab line (or a scheduled CI job) calls, once a day.

``dvdrental daily`` = lock -> ingest -> ``sqlmesh run`` on prod -> janitor, with
one log file per run and one summary line at the end:

1. **Lock** (:mod:`ingest.lock`): a second, overlapping run exits at once with
   exit code 75 and touches nothing. SQLMesh has no run-vs-run lock, and two
   overlapping runs would insert the same intervals twice.
2. **Ingest** the configured way (:func:`ingest.commands.load.run_ingest`):
   the direct loader locally, the Airbyte connection in production
   (``DVD_INGEST_VIA=airbyte``).
3. **Run prod** (:func:`ingest.transform.run_prod`): the intervals due by each
   model's cron. A prod that was never planned is planned (built) first.
4. **Janitor**: drops expired environments and snapshot tables.

Every failure is a :class:`PipelineError` with its exit code; a failed audit,
blocking or not, is a :class:`TransformError` (exit 6). The log file
(``logs/daily_<UTC time>.log``, or under ``$DVD_LOG_DIR``) has every line of
the run with a timestamp.
"""

from __future__ import annotations

import io
import logging
import os
import sys
import time
import typing as t
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ingest.errors import PipelineError, TransformError
from ingest.lock import pipeline_lock
from ingest.paths import LOG_DIR, export_warehouse_path

logger = logging.getLogger(__name__)

LOG_DIR_ENV = "DVD_LOG_DIR"  # where the per-run log files go (default: <project>/logs)


@dataclass
class DailyResult:
    rows_loaded: int = 0
    planned_first: bool = False
    models_run: set[str] = field(default_factory=set)
    audits_passed: int = 0
    audits_failed: int = 0
    seconds: float = 0.0
    ok: bool = False
    log_file: Path | None = None

    def summary(self) -> str:
        status = "ok" if self.ok else "FAILED"
        planned = ", prod planned first" if self.planned_first else ""
        return (
            f"daily {status}: {self.rows_loaded:,} rows loaded, {len(self.models_run)} models run{planned}, "
            f"audits {self.audits_passed} passed / {self.audits_failed} failed, {self.seconds:.1f}s"
        )


def run_daily(
    gateway: str | None = None,
    via: str | None = None,
    log_dir: Path | None = None,
    execution_time: str | None = None,
) -> DailyResult:
    """One daily run. Returns the result; raises :class:`PipelineError` on any failure.

    The summary line is printed (and logged) whatever the outcome;
    the lock is taken before the log file is opened, so a run refused by the
    lock leaves no log behind and changes nothing. ``execution_time`` is
    SQLMesh's (default: now): which intervals are due is decided by it.
    """
    export_warehouse_path()
    started = time.monotonic()
    result = DailyResult()
    with pipeline_lock(purpose="dvdrental daily"):
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        log_dir = log_dir or Path(os.environ.get(LOG_DIR_ENV) or LOG_DIR)
        log_dir.mkdir(parents=True, exist_ok=True)
        result.log_file = log_dir / f"daily_{stamp}.log"
        with _RunLog(result.log_file) as log:
            log.line(f"daily run started (gateway: {gateway or 'default'}, log: {result.log_file})")
            try:
                _steps(result, gateway, via, execution_time, log)
                result.ok = True
            except PipelineError as error:
                log.line(f"error: {error}", terminal=False)  # the CLI prints it on stderr
                raise
            except BaseException as error:
                log.line(f"error: unexpected {type(error).__name__}: {error}", terminal=False)
                raise
            finally:
                result.seconds = time.monotonic() - started
                log.line(result.summary())
    return result


def _steps(
    result: DailyResult, gateway: str | None, via: str | None, execution_time: str | None, log: "_RunLog"
) -> None:
    from ingest.commands.load import ingest_via, run_ingest
    from ingest.transform import PROD, open_context, plan_prod, run_prod

    chosen = via or ingest_via()
    log.line(f"step 1/3 ingest ({chosen})")
    result.rows_loaded = run_ingest(chosen, progress=False)

    log.line("step 2/3 sqlmesh run prod")
    with open_context(gateway) as ctx:  # released on exit: the warehouse is free for readers again
        counter = _count_evaluations(ctx, result)
        try:
            prod = ctx.state_reader.get_environment(PROD)
        except Exception as error:  # the state database is down or refuses us
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise TransformError(f"Cannot read SQLMesh's state ({gateway or 'default'} gateway): {first}") from None
        if prod is None:
            log.line("prod has never been planned: planning it first (builds every model)")
            plan_prod(gateway, ctx=ctx)
            result.planned_first = True
        models_before = len(result.models_run)
        try:
            run_prod(gateway, ctx=ctx, execution_time=execution_time)
        except TransformError as error:  # blocking audits stop the run before they are reported
            result.audits_failed += error.failed_audits
            raise
        if len(result.models_run) == models_before:
            log.line("nothing was due: every model's intervals up to now are done (crons are @daily/@monthly)")
        if counter.failed_models:
            raise TransformError(f"audits failed on {', '.join(sorted(counter.failed_models))}; see the log above.")

        log.line("step 3/3 janitor (expired environments and snapshots)")
        try:
            ctx.run_janitor(ignore_ttl=False)
        except Exception as error:
            raise TransformError(f"the SQLMesh janitor failed: {error}") from error


class _EvaluationCounter:
    """Wraps the SQLMesh console of a context to count models evaluated and audits."""

    def __init__(self, console: t.Any, result: DailyResult) -> None:
        self._console = console
        self._result = result
        self.failed_models: set[str] = set()

    def update_snapshot_evaluation_progress(self, snapshot: t.Any, *args: t.Any, **kwargs: t.Any) -> None:
        passed = kwargs.get("num_audits_passed", args[3] if len(args) > 3 else 0) or 0
        failed = kwargs.get("num_audits_failed", args[4] if len(args) > 4 else 0) or 0
        audit_only = kwargs.get("audit_only", args[5] if len(args) > 5 else False)
        if not audit_only:
            self._result.models_run.add(snapshot.name)
        self._result.audits_passed += passed
        self._result.audits_failed += failed
        if failed:
            self.failed_models.add(snapshot.name)
        self._console.update_snapshot_evaluation_progress(snapshot, *args, **kwargs)

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self._console, name)

    def __setattr__(self, name: str, value: t.Any) -> None:
        if name in ("_console", "_result", "failed_models"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._console, name, value)


def _count_evaluations(ctx: t.Any, result: DailyResult) -> _EvaluationCounter:
    counter = _EvaluationCounter(ctx.console, result)
    ctx.console = counter
    return counter


class _RunLog:
    """Copies everything the run prints (stdout, stderr, logging) into one timestamped log file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: io.TextIOWrapper | None = None
        self._handler: logging.Handler | None = None
        self._saved: tuple[t.Any, t.Any] | None = None

    def __enter__(self) -> "_RunLog":
        self._file = open(self.path, "a", encoding="utf-8", buffering=1)
        self._handler = logging.StreamHandler(_Timestamped(self._file))
        self._handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        # The terminal (and a cron mail) gets SQLMesh's warnings only; the log file gets its
        # INFO lines too (every SQL statement it ran), for when something needs explaining.
        self._quiet = _QuietSqlmesh()
        self._terminal_handlers = list(root.handlers)
        for handler in self._terminal_handlers:
            handler.addFilter(self._quiet)
        root.addHandler(self._handler)
        if root.level > logging.INFO or root.level == logging.NOTSET:
            root.setLevel(logging.INFO)
        self._saved = (sys.stdout, sys.stderr)
        sys.stdout = _Tee(sys.stdout, _Timestamped(self._file))  # type: ignore[assignment]
        sys.stderr = _Tee(sys.stderr, _Timestamped(self._file))  # type: ignore[assignment]
        return self

    def line(self, text: str, terminal: bool = True) -> None:
        """A line for the log, and for the terminal too unless ``terminal`` is false."""
        if terminal:
            print(text, file=sys.stdout, flush=True)
        elif self._file:
            sys.stdout.flush()
            _Timestamped(self._file).write(text + "\n")

    def __exit__(self, *exc: object) -> None:
        if self._saved:
            sys.stdout.flush()
            sys.stderr.flush()
            sys.stdout, sys.stderr = self._saved
        if self._handler:
            logging.getLogger().removeHandler(self._handler)
        for handler in getattr(self, "_terminal_handlers", []):
            handler.removeFilter(self._quiet)
        if self._file:
            self._file.close()


class _QuietSqlmesh(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not record.name.startswith(("sqlmesh", "web."))


class _Timestamped(io.TextIOBase):
    """A text stream that prefixes every line with the UTC time before writing it to ``target``."""

    def __init__(self, target: t.TextIO) -> None:
        self.target = target
        self._at_line_start = True

    def write(self, text: str) -> int:  # type: ignore[override]
        text = text.replace("\r", "\n")
        for piece in text.splitlines(keepends=True):
            if self._at_line_start:
                self.target.write(datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z ")
            self.target.write(piece)
            self._at_line_start = piece.endswith("\n")
        return len(text)

    def flush(self) -> None:
        self.target.flush()


class _Tee(io.TextIOBase):
    def __init__(self, *targets: t.Any) -> None:
        self.targets = targets

    def write(self, text: str) -> int:  # type: ignore[override]
        for target in self.targets:
            target.write(text)
        return len(text)

    def flush(self) -> None:
        for target in self.targets:
            target.flush()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:  # rich asks for it
        return "utf-8"
