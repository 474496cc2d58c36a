"""Helpers for the SQLMesh model tests: build a warehouse from a source, read it back.

A build is: full-load bronze from a PostgreSQL DSN into a DuckDB file, then plan prod
with SQLMesh (unit tests skipped: `sqlmesh test` runs them on its own). Tests that only
read share one build per module (see the module-scoped fixtures in the test files).
"""

from __future__ import annotations

import typing as t
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from dvdrental.reports.answers import answers_from_duckdb
from dvdrental.warehouse import context as transform
from foundation.paths import PROJECT_ROOT, WAREHOUSE_ENV
from foundation.settings import temporary_env
from ingest.bronze import load_bronze
from ingest.tables import SOURCE_TABLES

if t.TYPE_CHECKING:
    from sqlmesh import Context

# What SQLMesh loads of the project: the linter (config.yaml names its rules) and the YAML unit tests
# (its nomissingunittest rule looks for them) included, since every plan lints first.
PROJECT_PARTS = ("models", "macros", "audits", "signals", "linter", "tests", "config.yaml", "external_models.yaml")


def warehouse_env(path: Path) -> t.ContextManager[None]:
    """Point DVD_WAREHOUSE_PATH (what config.yaml reads) at ``path`` for the block."""
    return temporary_env(**{WAREHOUSE_ENV: str(path)})


@contextmanager
def sqlmesh_context(path: Path, project: Path = PROJECT_ROOT) -> t.Iterator[Context]:
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


def copy_project(target: Path) -> Path:
    """A scratch copy of the SQLMesh project (the parts of :data:`PROJECT_PARTS`), to change freely.

    Of ``tests/`` only the YAML unit tests are copied: SQLMesh reads those (its linter checks every
    model has one), not the pytest modules.
    """
    import shutil

    target.mkdir(parents=True)
    for part in PROJECT_PARTS:
        source = PROJECT_ROOT / part
        if part == "tests":
            for unit_test in source.rglob("test_*.yaml"):
                copy = target / unit_test.relative_to(PROJECT_ROOT)
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(unit_test, copy)
        elif source.is_dir():
            shutil.copytree(source, target / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / part)
    return target


def copy_warehouse(built: Path, target: Path) -> Path:
    """A private copy of a built warehouse (data and SQLMesh state live in the one file)."""
    import shutil

    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(built, target)
    return target


def stored_per_row(table: str) -> str:
    """The statement that stores a bronze table's load-constant metadata row by row, as Airbyte does.

    The local loader keeps ``_airbyte_extracted_at``, ``_airbyte_meta`` and ``_airbyte_generation_id``
    once per load, in the table's definition (virtual generated columns, ingest/bronze/direct.py), so
    they cannot be updated; Airbyte's destination stores them per row. A test that writes what only
    Airbyte can write (one row's meta, an older extract, a second copy of a row) runs this first."""
    return f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {table}"


def query(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Read the warehouse with a short-lived read-only connection."""
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def tomorrow() -> datetime:
    """An execution time one day ahead: the next daily interval is due then."""
    return datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)


@pytest.fixture(scope="session")
def sample_warehouse(pristine_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Prod built once per session from the untouched sample (bronze load + plan from empty).

    Read it, or copy it with :func:`copy_warehouse` before changing anything: the copy is a
    complete, independent warehouse (data and SQLMesh state live in the one file). Import this
    fixture into a test module to use it.
    """
    return build_warehouse(pristine_dsn, tmp_path_factory.mktemp("sample_warehouse") / "dvdrental.duckdb")


GOLD = ("dim_date", "dim_film", "dim_address", "dim_customer", "fact_rental", "fact_rental_monthly", "report_rentals")


SILVER = tuple(f"dvd_{table.name}" for table in SOURCE_TABLES)


def prod_state(path: Path) -> dict[str, object]:
    """Everything prod serves (every silver and gold table), plus the five answers."""
    # Silver tables that do not depend on a failing check do refresh (a new `_loaded_at`): rows
    # are compared without it, so what counts is what the data says.
    state: dict[str, object] = {
        f"{schema}.{name}": query(path, f"SELECT * EXCLUDE (_loaded_at) FROM {schema}.{name} ORDER BY ALL")
        if schema == "silver"
        else query(path, f"SELECT * FROM {schema}.{name} ORDER BY ALL")
        for schema, names in (("silver", SILVER), ("gold", GOLD))
        for name in names
    }
    state["answers"] = answers_from_duckdb(str(path))
    return state
