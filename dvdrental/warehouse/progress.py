"""Progress lines for a SQLMesh plan or run: what a person watching ``make demo`` or a cron log sees.

A first build evaluates every model for half a minute, a daily run for 10-20 s; without a word
in between the command looks hung. :class:`PipelineConsole` forwards SQLMesh's console events
here, and this prints one line per model batch evaluated (``transform [ 5/23] silver.dvd_rental
0.31s``), plus a line when tables are created, unit tests ran and views are swapped.

Progress is not a result, so it goes to stderr (looked up at every write, so the daily run's log
tee sees it); stdout keeps what commands print as results. On a terminal the model being
evaluated is shown on a status line that the next line overwrites (a live heartbeat for a slow
model); anywhere else (a pipe, a cron mail, the run log) only plain, complete lines are written.
"""

from __future__ import annotations

import sys
import time
import typing as t

PREFIX = "transform"
_CLEAR_LINE = "\r\033[K"


class ModelProgress:
    """Writes progress lines; ``stream`` (default: the current ``sys.stderr``) is looked up per write."""

    def __init__(self, stream: t.Callable[[], t.TextIO] | None = None) -> None:
        self._stream = stream or (lambda: sys.stderr)
        self._total = 0
        self._done = 0
        self._started = 0.0
        self._status_shown = False

    # ------------------------------------------------------------ SQLMesh events
    def tests_ran(self, passed: int, failed: int) -> None:
        self._line(f"{PREFIX}: unit tests {passed} passed" + (f", {failed} FAILED" if failed else ""))

    def creating(self, tables: int) -> None:
        if tables:
            self._line(f"{PREFIX}: creating {tables} table{'s' if tables != 1 else ''}")

    def evaluation_started(self, batches: int, audit_only: bool) -> None:
        self._total, self._done, self._started = batches, 0, time.monotonic()
        what = "audit" if audit_only else "evaluate"
        self._line(f"{PREFIX}: {batches} model batch{'es' if batches != 1 else ''} to {what}")

    def model_started(self, name: str) -> None:
        stream = self._stream()
        if _interactive(stream):
            stream.write(f"{_CLEAR_LINE}{PREFIX}: evaluating {name} ...")
            stream.flush()
            self._status_shown = True

    def model_done(self, name: str, seconds: float | None, audits_failed: int) -> None:
        self._done += 1
        width = len(str(self._total or self._done))
        took = f"  {seconds:.2f}s" if seconds is not None else ""
        failed = f"  {audits_failed} audit{'s' if audits_failed != 1 else ''} FAILED" if audits_failed else ""
        self._line(f"{PREFIX} [{self._done:>{width}}/{self._total or '?'}] {name}{took}{failed}")

    def evaluation_stopped(self, success: bool) -> None:
        if self._total:
            state = "done" if success else "FAILED"
            self._line(
                f"{PREFIX}: {state}, {self._done}/{self._total} batches in {time.monotonic() - self._started:.1f}s"
            )
        self._total = 0

    def promoting(self, environment: str, views: int) -> None:
        if views:
            self._line(f"{PREFIX}: updating {views} view{'s' if views != 1 else ''} of {environment}")

    # ----------------------------------------------------------------- writing
    def _line(self, text: str) -> None:
        stream = self._stream()
        prefix = _CLEAR_LINE if self._status_shown and _interactive(stream) else ""
        self._status_shown = False
        stream.write(f"{prefix}{text}\n")
        stream.flush()


def _interactive(stream: t.TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or minimal stream
        return False
