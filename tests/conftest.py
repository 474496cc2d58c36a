"""Shared fixtures: one real PostgreSQL server for the whole test session.

The server is the project's own :class:`LocalPostgres`, in a throwaway state
directory (never the demo's ``.local/``), started once and restored from the
sample once. Tests that change the source get their own database cloned from
the pristine sample (``CREATE DATABASE ... TEMPLATE``), so they never leak
into each other.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from foundation.settings import ENV_FILE_ENV

# A developer's own .env (git-ignored, beside the checkout) must not fill in a setting a test left out
# on purpose: every settings read in this process and in the subprocesses it starts (they inherit the
# environment) reads no .env at all. A test of the .env itself points DVD_ENV_FILE at its own file.
os.environ[ENV_FILE_ENV] = os.devnull

from ingest.source import LocalPostgres  # noqa: E402

# Registered here, once: a fixture imported into several test modules is a separate fixture in each
# (a session-scoped one then builds once per module). Built once, it is read or copied, never changed.
from tests.support.postgres import PRISTINE, cloned_source
from tests.support.warehouses import sample_warehouse  # noqa: F401


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


NEEDS = ("postgres", "spark", "browser", "superset")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark what each test needs: PostgreSQL wherever the session's server is used, and slow with any need.

    A test reaches the server only through the ``pg_server`` fixture (directly or through one that
    uses it), so the marker cannot be forgotten; the other needs are marked in their modules.
    """
    for item in items:
        if "pg_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
        if any(item.get_closest_marker(need) for need in NEEDS):
            item.add_marker(pytest.mark.slow)
