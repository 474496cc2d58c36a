"""Argument types for command options: a bad value is refused while parsing, before anything runs.

argparse calls these with the option's text; an :class:`argparse.ArgumentTypeError` becomes the
CLI's one-line ``error: ... argument --x: ...`` and exit 2 (a setting), so ``--execution-time``
is checked before the daily run loads bronze and ``--output`` before a report is computed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
from pathlib import Path

from foundation.paths import PROJECT_ROOT


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} must be more than 0 seconds")
    return value


def execution_time(text: str) -> str:
    """A time SQLMesh understands (it parses the same text again when the run starts)."""
    from sqlmesh.utils.date import to_datetime  # SQLMesh loads slowly: only when the option is given

    try:
        to_datetime(text)
    except Exception:  # SQLMesh raises ValueError or its own ConfigError
        raise argparse.ArgumentTypeError(f"{text!r} is not a time, e.g. '2026-01-02 01:00' or 'yesterday'") from None
    return text


def output_file(text: str) -> Path:
    """A file path that can be written: not a directory, under a writable directory (created later)."""
    path = Path(text).expanduser().resolve()
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory; give a file name")
    existing = next(p for p in path.parents if p.exists())
    if not existing.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: {existing} is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{text}: {existing} is not writable")
    return path


def git_ref(text: str) -> str:
    """A ref of this checkout's git repository that names a commit."""
    found = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{text}^{{commit}}"], cwd=PROJECT_ROOT, capture_output=True
    )
    if found.returncode != 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a commit of this repository (try main or origin/main)")
    return text


def accepted_deletion(text: str) -> list[tuple[str, int]]:
    """``TABLE:KEYS`` (comma-separated for several): loads the broken-load guard accepts for one run."""
    from dvdrental.daily.load_guard import parse_acceptance
    from foundation.errors import ConfigError

    try:
        return parse_acceptance(text, where="--accept-mass-deletion")
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error).split(": ", 1)[1]) from None
