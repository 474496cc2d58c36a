"""`dvdrental daily`, run the way cron runs it: as a separate process, against a real source.

* Two overlapping runs: the second exits at once with the lock's exit code (75), says why,
  writes no log and changes nothing; the first completes; gold has no duplicate rows.
* A new day of rentals and payments in the source shows up in gold after the next
  day's run.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from dvdrental.warehouse.lock import lock_path, pipeline_lock
from foundation.errors import LockHeldError
from foundation.paths import PROJECT_ROOT
from tests.support.warehouses import query as query_warehouse

DVDRENTAL = str(Path(sys.executable).with_name("dvdrental"))
SAMPLE_RENTALS = 16044


def _env(source_dsn: str, warehouse: Path, logs: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DVD_SOURCE_DSN=source_dsn,
        DVD_WAREHOUSE_PATH=str(warehouse),
        DVD_LOG_DIR=str(logs),
        DVD_INGEST_VIA="direct",
        SQLMESH__DISABLE_ANONYMIZED_ANALYTICS="true",
    )
    return env


def _daily(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [DVDRENTAL, "daily", *args], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout
    )


def _tomorrow() -> str:
    return (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d 01:00:00")


def test_overlapping_runs_second_exits_with_lock_code(source_db: str, warehouse: Path, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    env = _env(source_db, warehouse, logs)
    first = subprocess.Popen(
        [DVDRENTAL, "daily"], env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        lock = lock_path(warehouse)
        deadline = time.monotonic() + 60
        while f"pid {first.pid}" not in (lock.read_text() if lock.exists() else ""):
            assert first.poll() is None, f"first run ended before taking the lock: {first.communicate()}"
            assert time.monotonic() < deadline, "the first run never took the lock"
            time.sleep(0.05)

        started = time.monotonic()
        second = _daily(env, timeout=60)
        assert second.returncode == LockHeldError.exit_code == 75, second.stderr
        assert time.monotonic() - started < 30, "the refused run should exit at once"
        assert "holds the pipeline lock" in second.stderr and f"pid {first.pid}" in second.stderr
        assert second.stderr.strip().count("\n") == 0, f"one line expected, got: {second.stderr}"
        assert first.poll() is None, "the first run should still be running while the second is refused"

        out, err = first.communicate(timeout=600)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == 0, err
    assert "daily ok:" in out
    summary = [line for line in out.splitlines() if line.startswith("daily ok:")][-1]
    assert "models run" in summary and "audits" in summary and "0 failed" in summary

    # Exactly one log: the refused run wrote none. It has timestamps and ends with the summary.
    runs = sorted(logs.glob("daily_*.log"))
    assert len(runs) == 1, runs
    text = runs[0].read_text().splitlines()
    assert text[-1].endswith(summary) and text[-1][:4].isdigit()

    # No duplicate rows anywhere a duplicate would show.
    for table in ("silver.dvd_rental", "gold.fact_rental", "gold.report_rentals"):
        total, distinct = query_warehouse(warehouse, f"SELECT count(*), count(DISTINCT rental_id) FROM {table}")[0]
        assert total == distinct == SAMPLE_RENTALS, table

    # The lock is free again: the next run is not refused.
    again = _daily(env)
    assert again.returncode == 0, again.stderr


def test_next_day_rows_reach_gold(source_db: str, warehouse: Path, tmp_path: Path) -> None:
    env = _env(source_db, warehouse, tmp_path / "logs")
    first = _daily(env)
    assert first.returncode == 0, first.stderr
    assert "prod planned first" in first.stdout  # an empty warehouse: prod is built by the first run

    # A new business day in the source: rentals and payments dated the day after the last rental.
    with psycopg.connect(source_db, autocommit=True) as conn:
        last_day = conn.execute("SELECT max(rental_date)::date FROM rental").fetchone()[0]
        next_day = last_day + timedelta(days=1)
        new_ids = []
        for hour, (inventory_id, customer_id, amount) in enumerate([(1, 1, 2.99), (2, 2, 4.99), (3, 3, 0.99)]):
            rental_id = conn.execute(
                "INSERT INTO rental (rental_date, inventory_id, customer_id, staff_id) "
                "VALUES (%s, %s, %s, 1) RETURNING rental_id",
                (
                    datetime.combine(next_day, datetime.min.time()) + timedelta(hours=10 + hour),
                    inventory_id,
                    customer_id,
                ),
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO payment (customer_id, staff_id, rental_id, amount, payment_date) "
                "VALUES (%s, 1, %s, %s, %s)",
                (
                    customer_id,
                    rental_id,
                    amount,
                    datetime.combine(next_day, datetime.min.time()) + timedelta(hours=11 + hour),
                ),
            )
            new_ids.append(rental_id)

    # The next day's run (cron fires after midnight: the day's intervals are due).
    second = _daily(env, "--execution-time", _tomorrow())
    assert second.returncode == 0, second.stderr
    assert "daily ok:" in second.stdout and not re.search(r"\b0 models run", second.stdout)
    # Per-model progress on stderr (and in the run log), none of it on stdout.
    progress = [line for line in second.stderr.splitlines() if line.startswith("transform [")]
    assert any(line.split("] ")[1].startswith("gold.fact_rental ") for line in progress), second.stderr
    assert all(line.endswith("s") for line in progress)  # each with its duration
    assert "transform [" not in second.stdout and " INFO " not in second.stdout
    second_log = sorted((tmp_path / "logs").glob("daily_*.log"))[-1].read_text()
    assert sum("transform [" in line for line in second_log.splitlines()) == len(progress)

    rows = query_warehouse(
        warehouse,
        "SELECT rental_id, rental_date, payment_amount FROM gold.report_rentals "
        "WHERE rental_id IN (?, ?, ?) ORDER BY rental_id",
        new_ids,
    )
    assert [r[0] for r in rows] == new_ids
    assert {r[1] for r in rows} == {next_day}
    assert [float(r[2]) for r in rows] == [2.99, 4.99, 0.99]
    total, distinct = query_warehouse(warehouse, "SELECT count(*), count(DISTINCT rental_id) FROM gold.report_rentals")[
        0
    ]
    assert total == distinct == SAMPLE_RENTALS + 3


def test_sigterm_ends_a_local_run_like_ctrl_c(source_db: str, warehouse: Path, tmp_path: Path) -> None:
    """What a scheduler's timeout sends: exit 143, the FAILED summary in the run log, the lock released."""
    logs = tmp_path / "logs"
    run = subprocess.Popen(
        [DVDRENTAL, "daily"],
        env=_env(source_db, warehouse, logs),
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert run.stdout is not None
        for line in run.stdout:  # stdout is line-buffered: each step's line arrives as it happens
            if line.startswith("step 2/3"):
                break
        else:
            pytest.fail(f"the run ended before its transform step: {run.communicate()}")
        time.sleep(1.0)  # into SQLMesh's plan of the empty prod
        run.send_signal(signal.SIGTERM)
        out, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 143, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("error: terminated (SIGTERM)"), err
    log = sorted(logs.glob("daily_*.log"))[-1].read_text().splitlines()
    assert any("error: terminated (SIGTERM)" in line for line in log), log[-5:]
    assert "daily FAILED:" in log[-1]
    with pipeline_lock(lock_path(warehouse), purpose="test"):  # free again: not refused with LockHeldError
        pass


def test_refused_when_lock_held_in_process(warehouse: Path) -> None:
    """The lock itself: held, a second taker gets LockHeldError naming the holder; released, it is free."""
    from dvdrental.warehouse.lock import pipeline_lock

    with pipeline_lock(lock_path(warehouse), purpose="test holder"):
        with pytest.raises(LockHeldError, match=rf"pid {os.getpid()}, test holder"):
            with pipeline_lock(lock_path(warehouse)):
                pass
    with pipeline_lock(lock_path(warehouse)):
        pass


def test_sigterm_during_an_airbyte_sync_cancels_the_job(warehouse: Path, tmp_path: Path) -> None:
    """README "Exit codes" 143: a scheduler's timeout during `daily --via airbyte`'s wait cancels the job it
    started (DELETE /jobs/{id}, Airbyte's cancel), says so in one line and in the run log, releases the lock.
    A job left running would write bronze under the next run."""
    from tests.support.fake_airbyte import FakeAirbyte, airbyte_env

    logs = tmp_path / "logs"
    with FakeAirbyte() as fake:
        fake.job_script = ["running"]  # never finishes
        env = {k: v for k, v in _env("", warehouse, logs).items() if not k.startswith(("AIRBYTE_", "DVD_SOURCE"))}
        env.update(DVD_INGEST_VIA="airbyte", **airbyte_env(fake, AIRBYTE_POLL_INTERVAL_SECONDS="0.05"))
        run = subprocess.Popen(
            [DVDRENTAL, "daily"], env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            deadline = time.monotonic() + 60
            while len(fake.seen("GET", r"/jobs/\d+")) < 3:  # the job started and is being waited for
                assert run.poll() is None, run.communicate()
                assert time.monotonic() < deadline, "the daily run never waited for an Airbyte job"
                time.sleep(0.02)
            run.send_signal(signal.SIGTERM)
            out, err = run.communicate(timeout=60)
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
        job_id = min(fake.jobs)
        assert run.returncode == 143, err
        assert [r.path for r in fake.seen("DELETE")] == [f"/jobs/{job_id}"]
    assert "Traceback" not in err
    error = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(error) == 1 and str(job_id) in error[0] and "SIGTERM" in error[0], err
    log = sorted(logs.glob("daily_*.log"))[-1].read_text().splitlines()
    assert "daily FAILED:" in log[-1]
    with pipeline_lock(lock_path(warehouse), purpose="test"):  # free again
        pass
