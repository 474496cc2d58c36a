"""The daily run's log: everything the run prints, copied into one timestamped file.

:class:`RunLog` tees stdout and stderr into ``logs/daily_<UTC time>.log`` with a UTC timestamp
on every line, and adds a logging handler for the file. The terminal (and a cron mail) gets
SQLMesh's warnings only; the file gets its INFO lines too (every SQL statement it ran).
"""

from __future__ import annotations

import io
import logging
import sys
import typing as t
from datetime import UTC, datetime
from pathlib import Path


class RunLog:
    """Copies everything the run prints (stdout, stderr, logging) into one timestamped log file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: io.TextIOWrapper | None = None
        self._handler: logging.Handler | None = None
        self._saved: tuple[t.Any, t.Any] | None = None

    def __enter__(self) -> RunLog:
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
        sys.stdout = _Tee(sys.stdout, _Timestamped(self._file))
        sys.stderr = _Tee(sys.stderr, _Timestamped(self._file))
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

    def write(self, text: str) -> int:
        text = text.replace("\r", "\n")
        for piece in text.splitlines(keepends=True):
            if self._at_line_start:
                self.target.write(datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z ")
            self.target.write(piece)
            self._at_line_start = piece.endswith("\n")
        return len(text)

    def flush(self) -> None:
        self.target.flush()


class _Tee(io.TextIOBase):
    def __init__(self, *targets: t.Any) -> None:
        self.targets = targets

    def write(self, text: str) -> int:
        for target in self.targets:
            target.write(text)
        return len(text)

    def flush(self) -> None:
        for target in self.targets:
            target.flush()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:  # type: ignore[override]  # rich asks for it; TextIOBase has it as an attribute
        return "utf-8"
