"""Shared fixtures: one real PostgreSQL server for the whole test session.

The server is the project's own :class:`LocalPostgres`, in a throwaway state
directory (never the demo's ``.local/``), started once and restored from the
sample once. Tests that change the source get their own database cloned from
the pristine sample (``CREATE DATABASE ... TEMPLATE``), so they never leak
into each other.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ingest.source import LocalPostgres

# Registered here, once: a fixture imported into several test modules is a separate fixture in each
# (a session-scoped one then builds once per module). Built once, it is read or copied, never changed.
from tests.models_fixtures import sample_warehouse  # noqa: F401

PRISTINE = "dvdrental"
_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPostgres]:
    server = LocalPostgres(state_dir=tmp_path_factory.mktemp("postgres"))
    server.start()  # initdb, start on a free port, restore the sample into `dvdrental`
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def pristine_dsn(pg_server: LocalPostgres) -> str:
    """The untouched sample. Read it; never write to it."""
    return pg_server.dsn(PRISTINE)


@contextmanager
def cloned_source(pg_server: LocalPostgres) -> Iterator[str]:
    """A private, writable copy of the sample (its DSN), dropped afterwards; for fixtures of any scope."""
    name = f"dvd_test_{os.getpid()}_{next(_counter)}"
    with pg_server.connect("postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{PRISTINE}"')
    yield pg_server.dsn(name)
    with pg_server.connect("postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def source_db(pg_server: LocalPostgres) -> Iterator[str]:
    """A private, writable copy of the sample for one test. Yields its DSN."""
    with cloned_source(pg_server) as dsn:
        yield dsn


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh warehouse file for one test; DVD_WAREHOUSE_PATH points at it (SQLMesh reads that)."""
    path = tmp_path / "warehouse" / "dvdrental.duckdb"
    monkeypatch.setenv("DVD_WAREHOUSE_PATH", str(path))
    return path
