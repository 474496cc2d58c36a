"""One pipeline run at a time: an exclusive, non-blocking ``flock`` on a lock file.

SQLMesh has no run-vs-run lock (two overlapping ``sqlmesh run`` on the same
state both insert the same intervals: SQLMesh issue #3866), and DuckDB allows
one writer process per file. So ``dvdrental daily`` takes this lock first; a
second, overlapping run fails at once with :class:`LockHeldError` (exit 75,
EX_TEMPFAIL: "try again later") and touches nothing.

The lock lives next to the warehouse (``<warehouse dir>/.dvdrental.lock``),
so two checkouts or two scratch warehouses never block each other, while two
runs against the same warehouse always do. ``flock`` locks belong to the open
file description: the kernel releases them when the process exits, however it
exits (even ``kill -9``), so a crashed run never leaves a stale lock behind.
The file keeps the holder's pid and start time, for the error message only.
"""

from __future__ import annotations

import fcntl
import os
import typing as t
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from foundation.errors import LockHeldError
from foundation.errors import WarehouseError
from foundation.paths import warehouse_path

LOCK_NAME = ".dvdrental.lock"


def lock_path(warehouse: Path | None = None) -> Path:
    """The lock file guarding ``warehouse`` (default: the configured one)."""
    return (warehouse or warehouse_path()).parent / LOCK_NAME


@contextmanager
def pipeline_lock(path: Path | None = None, purpose: str = "daily") -> t.Iterator[Path]:
    """Hold the pipeline lock for the ``with`` block, or raise :class:`LockHeldError` at once."""
    path = path or lock_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise WarehouseError(f"Cannot create the lock file {path}: {error.strerror}.") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            raise LockHeldError(
                f"Another run holds the pipeline lock {path}{f' ({holder})' if holder else ''}; "
                f"nothing was done. Try again when it has finished."
            ) from None
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, {purpose} started {started}\n".encode(), 0)
        try:
            yield path
        finally:
            try:
                os.ftruncate(fd, 0)
            except OSError:
                pass
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _read_holder(fd: int) -> str:
    try:
        return os.pread(fd, 200, 0).decode(errors="replace").strip()
    except OSError:
        return ""
