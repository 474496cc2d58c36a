"""Private copies of the sample database on the session's PostgreSQL server (``pg_server`` in conftest.py)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager

from ingest.source import LocalPostgres

PRISTINE = "dvdrental"  # the untouched sample: read it, never write to it


_counter = itertools.count()


@contextmanager
def cloned_source(pg_server: LocalPostgres) -> Iterator[str]:
    """A private, writable copy of the sample (its DSN), dropped afterwards; for fixtures of any scope."""
    name = f"dvd_test_{os.getpid()}_{next(_counter)}"
    with pg_server.connect("postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{PRISTINE}"')
    yield pg_server.dsn(name)
    with pg_server.connect("postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
