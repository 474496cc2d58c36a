"""Helpers for the SQLMesh model tests: build a warehouse from a source, read it back.

A build is: full-load bronze from a PostgreSQL DSN into a DuckDB file, then plan prod
with SQLMesh (unit tests skipped: `sqlmesh test` runs them on its own). Tests that only
read share one build per module (see the module-scoped fixtures in the test files).
"""

from __future__ import annotations

import os
import typing as t
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from ingest import transform
from ingest.bronze import load_bronze
from ingest.paths import PROJECT_ROOT, WAREHOUSE_ENV

if t.TYPE_CHECKING:
    from sqlmesh import Context

PROJECT_PARTS = ("models", "macros", "audits", "linter", "tests", "config.yaml", "external_models.yaml")


@contextmanager
def warehouse_env(path: Path) -> t.Iterator[Path]:
    """Point DVD_WAREHOUSE_PATH (what config.yaml reads) at ``path`` for the block."""
    previous = os.environ.get(WAREHOUSE_ENV)
    os.environ[WAREHOUSE_ENV] = str(path)
    try:
        yield path
    finally:
        if previous is None:
            os.environ.pop(WAREHOUSE_ENV, None)
        else:
            os.environ[WAREHOUSE_ENV] = previous


@contextmanager
def sqlmesh_context(path: Path, project: Path = PROJECT_ROOT) -> t.Iterator["Context"]:
    """A SQLMesh context on ``project`` against the warehouse ``path``, released afterwards."""
    with warehouse_env(path):
        with transform.open_context(paths=[str(project)]) as ctx:
            yield ctx


def build_warehouse(dsn: str, path: Path) -> Path:
    """Load bronze from ``dsn`` into ``path`` and build prod from empty."""
    path.parent.mkdir(parents=True, exist_ok=True)
    load_bronze(dsn, path, progress=False)
    with sqlmesh_context(path) as ctx:
        transform.plan_prod(ctx=ctx, skip_tests=True)
    return path


def copy_warehouse(built: Path, target: Path) -> Path:
    """A private copy of a built warehouse (data and SQLMesh state live in the one file)."""
    import shutil

    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(built, target)
    return target


def query(path: Path, sql: str) -> list[tuple]:
    """Read the warehouse with a short-lived read-only connection."""
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def tomorrow() -> datetime:
    """An execution time one day ahead: the next daily interval is due then."""
    return datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=1)


@pytest.fixture(scope="session")
def sample_warehouse(pristine_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Prod built once per session from the untouched sample (bronze load + plan from empty).

    Read it, or copy it with :func:`copy_warehouse` before changing anything: the copy is a
    complete, independent warehouse (data and SQLMesh state live in the one file). Import this
    fixture into a test module to use it.
    """
    return build_warehouse(pristine_dsn, tmp_path_factory.mktemp("sample_warehouse") / "dvdrental.duckdb")
