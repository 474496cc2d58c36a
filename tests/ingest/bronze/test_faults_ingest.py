"""Fault injection on the ingest path: kills, source faults, a full or read-only disk.

Every case checks the same promise: the user gets one clear message and a
non-zero exit, bronze still holds the previous complete generation (same
generation id and row counts in every table), and the next normal load works.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from foundation.errors import LoadError, SourceError, WarehouseError
from foundation.paths import PROJECT_ROOT
from ingest.bronze import load_bronze
from ingest.tables import SOURCE_TABLES
from tests.support.loads import bronze_state, slow_down, spawn_load, wait_for_copy_of
from tests.support.required import missing

SCAN_DELAY = 0.08  # seconds each scan of a slowed table waits before its first row


def _slow_every_table(dsn: str) -> None:
    """Each table becomes a view that pauses once per scan: a load takes a few seconds, evenly."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in SOURCE_TABLES:
            conn.execute(f"ALTER TABLE {table.name} RENAME TO {table.name}_data")
            conn.execute(
                f"CREATE VIEW {table.name} AS SELECT t.* FROM {table.name}_data t, "
                f"(SELECT pg_sleep({SCAN_DELAY})) AS pause"
            )


def _consistent(state: dict[str, tuple[int, int, int]]) -> bool:
    generations = {(lo, hi) for _, lo, hi in state.values()}
    return len(generations) == 1 and len(state) == len(SOURCE_TABLES)


def _kill_points() -> list[tuple[str, str | None]]:
    """(label, SQL the loader must be running in the source when it is killed).

    None means "as soon as the process exists" (before the first table). For each
    table there are two points: while its row count runs (the gap after the
    previous table) and while its rows are copied (mid-table).
    """
    points: list[tuple[str, str | None]] = [("before the first table", None)]
    for table in SOURCE_TABLES:
        points.append((f"before {table.name} (counting)", f'%count(*) FROM public."{table.name}"%'))
        points.append((f"mid-{table.name} (copying)", f'COPY (SELECT "%FROM "public"."{table.name}"%'))
    return points


def _kill_when_running(proc: subprocess.Popen, dsn: str, pattern: str | None, timeout: float = 120.0) -> bool:
    """SIGKILL ``proc`` once the source runs a query like ``pattern``; False if it ended first."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as conn:
        while pattern is not None and time.monotonic() < deadline and proc.poll() is None:
            active = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state = 'active' AND query LIKE %s",
                (pattern,),
            ).fetchone()[0]
            if active:
                break
            time.sleep(0.005)
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return True


def test_sigkill_at_many_points_never_loses_the_previous_generation(source_db: str, warehouse: Path) -> None:
    load_bronze(source_db, warehouse, progress=False)
    _slow_every_table(source_db)
    before = bronze_state(warehouse)
    points = _kill_points()
    assert len(points) >= 20

    for label, pattern in points:
        proc = spawn_load(source_db, warehouse)
        killed = _kill_when_running(proc, source_db, pattern)
        assert killed, f"the load ended before the kill point '{label}': {proc.stderr.read()}"
        state = bronze_state(warehouse)  # also proves the file opens cleanly after the kill
        assert state == before, f"killed {label}: bronze changed"

    recovered = load_bronze(source_db, warehouse, progress=False)
    assert recovered.generation_id == before["rental"][2] + 1
    after = bronze_state(warehouse)
    assert _consistent(after)
    assert {t: rows for t, (rows, _, _) in after.items()} == {t: rows for t, (rows, _, _) in before.items()}


def test_connection_dropped_mid_load(source_db: str, warehouse: Path) -> None:
    load_bronze(source_db, warehouse, progress=False)
    before = bronze_state(warehouse)
    with psycopg.connect(source_db, autocommit=True) as conn:
        conn.execute("ALTER TABLE payment RENAME TO payment_data")
        conn.execute("CREATE VIEW payment AS SELECT t.* FROM payment_data t, (SELECT pg_sleep(3)) AS pause")
    proc = spawn_load(source_db, warehouse)
    wait_for_copy_of(source_db, "payment", proc)
    with psycopg.connect(source_db, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ILIKE '%payment%'"
        )
    assert proc.wait(timeout=60) == LoadError.exit_code
    stderr = proc.stderr.read()
    assert "Traceback" not in stderr
    assert (
        stderr.startswith("error: Loading public.payment from the source 127.0.0.1:")
        and "previous generation kept" in stderr
    )
    assert bronze_state(warehouse) == before


def test_permission_denied_names_the_table(source_db: str, warehouse: Path) -> None:
    load_bronze(source_db, warehouse, progress=False)
    before = bronze_state(warehouse)
    database = psycopg.conninfo.conninfo_to_dict(source_db)["dbname"]
    role = f"reader_{database}"
    with psycopg.connect(source_db, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'reader-pw'")
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
        conn.execute(f"REVOKE SELECT ON inventory FROM {role}")
    params = psycopg.conninfo.conninfo_to_dict(source_db)
    reader_dsn = f"postgresql://{role}:reader-pw@{params['host']}:{params['port']}/{database}"
    try:
        with pytest.raises(SourceError, match=r"Permission denied on public\.inventory .*GRANT SELECT"):
            load_bronze(reader_dsn, warehouse, progress=False)
        assert bronze_state(warehouse) == before
    finally:
        with psycopg.connect(source_db, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


@contextmanager
def _tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if result.returncode != 0:
        missing(
            f"cannot mount a tmpfs to simulate a full/read-only disk (needs root): {result.stderr.decode().strip()}"
        )
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _remount(path: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(path)], check=True)


def test_disk_full_keeps_previous_generation_and_next_run_recovers(
    pristine_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _tmpfs(tmp_path / "disk", "64m") as disk:
        warehouse = disk / "dvdrental.duckdb"
        load_bronze(pristine_dsn, warehouse, progress=False)
        before = bronze_state(warehouse)
        used_kb = int(subprocess.run(["du", "-sk", str(disk)], capture_output=True, text=True).stdout.split()[0])
        _remount(disk, f"size={used_kb + 256}k")  # room for a little WAL, not for a new generation
        with pytest.raises(WarehouseError, match=r"(?i)no space left.*Free disk space.*previous generation kept"):
            load_bronze(pristine_dsn, warehouse, progress=False)
        _remount(disk, "size=64m")
        assert bronze_state(warehouse) == before
        recovered = load_bronze(pristine_dsn, warehouse, progress=False)
        assert recovered.generation_id == before["rental"][2] + 1


def test_read_only_warehouse_is_one_clear_line(pristine_dsn: str, tmp_path: Path) -> None:
    with _tmpfs(tmp_path / "disk", "64m") as disk:
        warehouse = disk / "dvdrental.duckdb"
        load_bronze(pristine_dsn, warehouse, progress=False)
        before = bronze_state(warehouse)
        _remount(disk, "ro")
        env = {**os.environ, "DVD_SOURCE_DSN": pristine_dsn, "DVD_WAREHOUSE_PATH": str(warehouse)}
        result = subprocess.run(
            [sys.executable, "-m", "dvdrental", "ingest", "--no-progress"],
            env=env,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == WarehouseError.exit_code, result.stderr
        assert "Traceback" not in result.stderr
        assert result.stderr.startswith(f"error: Cannot open the warehouse {warehouse}")
        _remount(disk, "rw")
        assert bronze_state(warehouse) == before
        assert load_bronze(pristine_dsn, warehouse, progress=False).generation_id == before["rental"][2] + 1


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_terminated_mid_copy_exits_cleanly_and_keeps_the_previous_generation(
    source_db: str, warehouse: Path, sig: signal.Signals
) -> None:
    """README "Exit codes": 143 on SIGTERM, 130 on Ctrl-C, handled alike, one error line; the
    "all or nothing" promise: the load in flight is rolled back, the previous generation stays."""
    load_bronze(source_db, warehouse, progress=False)
    before = bronze_state(warehouse)
    with psycopg.connect(source_db, autocommit=True) as conn:
        slow_down(conn, "payment", seconds_per_row=0.002)
    proc = spawn_load(source_db, warehouse)
    try:
        wait_for_copy_of(source_db, "payment", proc)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    expected = {signal.SIGTERM: (143, "error: terminated (SIGTERM)"), signal.SIGINT: (130, "error: interrupted")}[sig]
    assert proc.returncode == expected[0], err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(expected[1]), err
    assert bronze_state(warehouse) == before
    with psycopg.connect(source_db, autocommit=True) as conn:
        conn.execute("DROP VIEW payment")
        conn.execute("ALTER TABLE payment_data RENAME TO payment")
    assert load_bronze(source_db, warehouse, progress=False).generation_id == before["payment"][2] + 1
