"""The warehouse held by another process during the transform (the ingest side is in
tests/ingest/bronze/test_faults_ingest.py and tests/ingest/bronze/test_bronze_load.py).

`dvdrental daily --via airbyte` against the fake Airbyte server: the ingest does not touch the
DuckDB file, so the first thing that needs it is SQLMesh. With another process holding it
(a write connection, as `sqlmesh ui` or a notebook would; or a read-only one, as
`dvdrental answers` would), the run fails with one line naming the file and what to do, exit 4,
no traceback and nothing changed; once the other process is gone the next run works.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import typing as t
from contextlib import contextmanager
from pathlib import Path

import pytest

from dvdrental.warehouse import context as transform
from foundation.errors import WarehouseError
from foundation.paths import PROJECT_ROOT
from foundation.warehouse_file import LOCK_WAIT_SECONDS
from tests.support.fake_airbyte import FakeAirbyte, airbyte_env
from tests.support.warehouses import (
    copy_warehouse,
    query,
    warehouse_env,
)

VIEWS_SQL = (
    "SELECT schema_name, view_name, sql FROM duckdb_views() WHERE schema_name IN ('silver', 'gold') ORDER BY ALL"
)


@pytest.fixture
def fake_airbyte() -> t.Iterator[FakeAirbyte]:
    with FakeAirbyte() as server:
        yield server


@contextmanager
def held(path: Path, read_only: bool = False, seconds: float = 600) -> t.Iterator[subprocess.Popen]:
    """Another process with a DuckDB connection open on ``path`` for ``seconds`` (or the block).

    It prints ``open`` once it holds the file and ``closed`` once it let it go by itself.
    """
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == 'ro'); "
            "print('open', flush=True); time.sleep(float(sys.argv[3])); c.close(); print('closed', flush=True)",
            str(path),
            "ro" if read_only else "rw",
            str(seconds),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        yield holder
    finally:
        holder.kill()
        holder.wait()


def _daily_env(fake: FakeAirbyte, warehouse: Path, logs: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRBYTE_")}
    env.update(airbyte_env(fake))
    env.update(
        DVD_WAREHOUSE_PATH=str(warehouse),
        DVD_LOG_DIR=str(logs),
        DVD_INGEST_VIA="airbyte",
        SQLMESH__DISABLE_ANONYMIZED_ANALYTICS="true",
    )
    return env


def test_daily_with_the_warehouse_held_fails_cleanly_then_recovers(
    sample_warehouse: Path,
    fake_airbyte: FakeAirbyte,
    tmp_path: Path,  # noqa: F811
) -> None:
    warehouse = copy_warehouse(sample_warehouse, tmp_path / "warehouse" / "dvdrental.duckdb")
    views_before = query(warehouse, VIEWS_SQL)
    env = _daily_env(fake_airbyte, warehouse, tmp_path / "logs")
    command = [sys.executable, "-m", "dvdrental", "daily"]

    with held(warehouse) as holder:
        done = subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert fake_airbyte.seen("POST", "/jobs"), "the Airbyte ingest should have run first"
    assert done.returncode == WarehouseError.exit_code == 4, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [done.stderr.strip().splitlines()[-1]], done.stderr
    assert errors[0].startswith(f"error: The warehouse {warehouse} is open in another process")
    assert "Close it and run again; nothing was changed." in errors[0] and f"PID {holder.pid}" in errors[0]
    assert query(warehouse, VIEWS_SQL) == views_before
    [log] = (tmp_path / "logs").glob("daily_*.log")
    assert "is open in another process" in log.read_text()

    again = subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "daily ok:" in again.stdout


@pytest.mark.parametrize("read_only", [False, True], ids=["write connection", "read-only reader"])
def test_plan_with_the_warehouse_held_is_a_warehouse_error(
    sample_warehouse: Path,
    tmp_path: Path,
    read_only: bool,  # noqa: F811
) -> None:
    warehouse = copy_warehouse(sample_warehouse, tmp_path / "dvdrental.duckdb")
    with warehouse_env(warehouse), held(warehouse, read_only=read_only):
        with pytest.raises(WarehouseError, match=r"is open in another process .*Close it and run again") as failure:
            transform.plan_prod(skip_tests=True)
    assert str(warehouse) in str(failure.value) and "\n" not in str(failure.value)


def test_plan_waits_for_a_reader_holding_the_warehouse_briefly(
    sample_warehouse: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,  # noqa: F811
) -> None:
    """A dashboard query holds the file read-only for 3 s (well inside LOCK_WAIT_SECONDS) when the
    transform starts: the transform waits for it and then succeeds instead of failing with exit 4."""
    warehouse = copy_warehouse(sample_warehouse, tmp_path / "dvdrental.duckdb")
    hold_seconds = 3.0
    assert hold_seconds < LOCK_WAIT_SECONDS
    caplog.set_level(logging.DEBUG, logger="foundation.warehouse_file")
    with warehouse_env(warehouse), held(warehouse, read_only=True, seconds=hold_seconds) as holder:
        transform.plan_prod(skip_tests=True)  # raises WarehouseError if it did not wait
        assert holder.stdout is not None
        # the reader let go by itself (it was not killed): the plan started while it held the file
        assert holder.wait(timeout=30) == 0 and holder.stdout.readline().strip() == "closed"
    waits = [r for r in caplog.records if "held by another process; trying again" in r.getMessage()]
    assert waits, "the transform never had to wait: the reader was not holding the file when it started"


def test_a_reader_arriving_after_the_lock_check_does_not_fail_the_transform(
    sample_warehouse: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # noqa: F811
) -> None:
    """The check that the warehouse is free must keep it until SQLMesh's own connection is open.

    A reader (a dashboard query) that tries the file right after the check, while SQLMesh loads
    the project, must find it taken; had the check let go, the reader would hold it and SQLMesh's
    open would fail the run after all.
    """
    import sqlmesh

    warehouse = copy_warehouse(sample_warehouse, tmp_path / "dvdrental.duckdb")
    real_context = sqlmesh.Context
    readers: list[subprocess.Popen] = []
    tried: list[str] = []

    def context_with_a_reader_arriving(*args: t.Any, **kwargs: t.Any) -> sqlmesh.Context:
        reader = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import duckdb, sys, time\n"
                "try:\n"
                "    c = duckdb.connect(sys.argv[1], read_only=True)\n"
                "except duckdb.IOException:\n"
                "    print('locked', flush=True); sys.exit(0)\n"
                "print('open', flush=True); time.sleep(60)",
                str(warehouse),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        readers.append(reader)
        assert reader.stdout is not None
        tried.append(reader.stdout.readline().strip())  # wait until it tried
        return real_context(*args, **kwargs)

    monkeypatch.setattr(sqlmesh, "Context", context_with_a_reader_arriving)
    try:
        with warehouse_env(warehouse):
            transform.plan_prod(skip_tests=True)
    finally:
        for reader in readers:
            reader.kill()
            reader.wait()
    assert tried == ["locked"], "the reader should have found the file still taken by the transform"
