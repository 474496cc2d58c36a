"""SIGTERM handled like Ctrl-C: a scheduler stopping a run gets the same clean end as a person.

Python turns Ctrl-C into :class:`KeyboardInterrupt`, so every ``finally`` runs: the lock is
released, the daily run log gets its FAILED line. SIGTERM (what cron's timeout, systemd and CI
runners send) would instead kill the process at once. :func:`sigterm_as_interrupt` installs a
handler that raises :class:`Terminated`, a ``KeyboardInterrupt`` subclass, so every path that
handles Ctrl-C handles it too; the CLI exits with 143 (128 + SIGTERM) for it, 130 for Ctrl-C.
The Airbyte wait installs its own handler for the wait (it cancels the job) and restores this one.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import types
import typing as t

EXIT_TERMINATED = 128 + signal.SIGTERM  # 143


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: handled as an interrupt (``except KeyboardInterrupt`` catches it)."""


REDELIVER_SECONDS = 0.05


def _raise_terminated(signum: int, frame: types.FrameType | None) -> None:
    if _in_finalizer(frame):
        # Python ignores (only prints) an exception raised in a __del__ (SQLMesh's regex and
        # DuckDB objects have them), so the run would go on. Deliver the signal again shortly,
        # when the finalizer has returned.
        threading.Timer(REDELIVER_SECONDS, os.kill, (os.getpid(), signum)).start()
        return
    raise Terminated("terminated (SIGTERM)")


def interrupt_behind(error: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C or SIGTERM a library turned into an error of its own, else None.

    DuckDB stops a running query when the signal handler raises, and raises
    ``RuntimeError: Query interrupted`` chained from our :class:`Terminated` (or Ctrl-C's
    ``KeyboardInterrupt``): re-raised as it is, that would be a traceback and exit 1 instead of
    the interrupt's clean end (exit 143 or 130).
    """
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _in_finalizer(frame: types.FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code.co_name == "__del__":
            return True
        frame = frame.f_back
    return False


@contextlib.contextmanager
def sigterm_as_interrupt() -> t.Iterator[None]:
    """SIGTERM raises :class:`Terminated` for the block (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
