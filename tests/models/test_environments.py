"""SQLMesh environments and runs on the real project.

* `plan` prod from an empty warehouse builds every model (the module fixture does it).
* `run` afterwards evaluates only intervals that are due: nothing right after the plan; the
  next day, one more day for the daily models and nothing for the monthly snapshot (unless
  that day starts a month).
* `plan dev` of a changed model builds only that model and leaves everything prod returns
  untouched.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dvdrental.warehouse import context as transform
from ingest.tables import SOURCE_TABLES
from tests.support.warehouses import (
    copy_project,
    copy_warehouse,
    query,
    sqlmesh_context,
    stored_per_row,
    tomorrow,
)

GOLD = ("dim_date", "dim_film", "dim_address", "dim_customer", "fact_rental", "fact_rental_monthly", "report_rentals")
DAY_MS = 86_400_000


@pytest.fixture(scope="module")
def built(sample_warehouse: Path) -> Path:  # noqa: F811
    """Prod planned from an empty warehouse (shared; tests that change it work on a copy)."""
    return sample_warehouse


def _prod_interval_ends(ctx) -> dict[str, int]:
    env = ctx.state_reader.get_environment("prod")
    snapshots = ctx.state_reader.get_snapshots(env.snapshots)
    return {s.node.name: max(end for _, end in s.intervals) for s in snapshots.values() if s.intervals}


def _prod_fingerprint(path: Path) -> dict[str, object]:
    """What prod serves: each view's definition, and the content of the reporting tables."""
    return {
        "views": query(
            path,
            "SELECT schema_name, view_name, sql FROM duckdb_views() "
            "WHERE schema_name IN ('silver', 'gold') ORDER BY 1, 2",
        ),
        "report": query(path, "SELECT * FROM gold.report_rentals ORDER BY rental_id"),
        "fact": query(path, "SELECT * FROM gold.fact_rental ORDER BY rental_id"),
        "monthly": query(path, "SELECT * FROM gold.fact_rental_monthly ORDER BY month_start, film_id"),
    }


def test_plan_from_empty_builds_every_model(built: Path) -> None:
    for table in SOURCE_TABLES:
        [(rows,)] = query(built, f"SELECT COUNT(*) FROM silver.dvd_{table.name}")
        assert rows > 0, table.name
    counts = {name: query(built, f"SELECT COUNT(*) FROM gold.{name}")[0][0] for name in GOLD}
    assert counts["fact_rental"] == counts["report_rentals"] == 16044
    assert counts["dim_customer"] == 599 and counts["dim_film"] == 1000 and counts["dim_address"] == 603
    assert counts["fact_rental_monthly"] == 958 * 25  # films with inventory x months 2005-05 .. 2007-05


def test_run_processes_only_due_intervals(built: Path, tmp_path: Path) -> None:
    warehouse = copy_warehouse(built, tmp_path / "dvdrental.duckdb")
    with sqlmesh_context(warehouse) as ctx:
        before = _prod_interval_ends(ctx)
        # Runs are timed from the plan, not from the clock: a session that passes midnight
        # between building the warehouse and this test would otherwise find a new day due.
        planned_until = datetime.fromtimestamp(max(before.values()) / 1000, UTC)
        assert transform.run_prod(ctx=ctx, execution_time=planned_until).name == "NOTHING_TO_DO"
        assert _prod_interval_ends(ctx) == before

        next_day = planned_until + timedelta(days=1)
        assert transform.run_prod(ctx=ctx, execution_time=next_day).is_success
        after = _prod_interval_ends(ctx)

    monthly = "gold.fact_rental_monthly"
    for name, end in after.items():
        if name == monthly:
            continue
        assert end - before[name] == DAY_MS, f"{name} should gain exactly one day"
    # The monthly snapshot is due only when a month ended between now and the next day.
    month_ended = (next_day - timedelta(days=1)).month != next_day.month
    assert (after[monthly] > before[monthly]) == month_ended


def test_plan_dev_builds_only_the_change_and_leaves_prod_alone(built: Path, tmp_path: Path) -> None:
    warehouse = copy_warehouse(built, tmp_path / "warehouse" / "dvdrental.duckdb")
    project = copy_project(tmp_path / "project")
    report = project / "models" / "gold" / "report_rentals.sql"
    text = report.read_text()
    anchor = "  rental.returned_at, -- When it was returned; NULL while not returned.\n"
    assert anchor in text
    report.write_text(
        text.replace(anchor, "  HOUR(rental.rental_at) AS rental_hour, -- Hour of day the rental started.\n" + anchor)
    )

    prod_before = _prod_fingerprint(warehouse)
    with sqlmesh_context(warehouse, project=project) as ctx:
        plan = ctx.plan("dev", auto_apply=True, no_prompts=True, skip_tests=True)
        changed = {s.node.name for s in plan.new_snapshots}
        backfilled = {plan.context_diff.snapshots[i.snapshot_id].node.name for i in plan.missing_intervals}
    assert changed == {"gold.report_rentals"}
    assert backfilled == {"gold.report_rentals"}

    assert _prod_fingerprint(warehouse) == prod_before
    prod_columns = {
        c
        for (c,) in query(
            warehouse,
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'gold' AND table_name = 'report_rentals'",
        )
    }
    dev_columns = {
        c
        for (c,) in query(
            warehouse,
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'gold__dev' AND table_name = 'report_rentals'",
        )
    }
    assert "rental_hour" not in prod_columns and "rental_hour" in dev_columns
    assert query(warehouse, "SELECT COUNT(*) FROM gold__dev.report_rentals") == [(16044,)]


def test_stale_bronze_fails_the_freshness_audit_naming_table_and_age(built: Path, tmp_path: Path) -> None:
    import duckdb

    from foundation.errors import TransformError

    warehouse = copy_warehouse(built, tmp_path / "dvdrental.duckdb")
    with duckdb.connect(str(warehouse)) as con:  # the last extract of rental was three days ago
        con.execute(stored_per_row("bronze.raw_dvd_rental"))
        con.execute("UPDATE bronze.raw_dvd_rental SET _airbyte_extracted_at = _airbyte_extracted_at - INTERVAL 72 HOUR")
    with sqlmesh_context(warehouse) as ctx, pytest.raises(TransformError) as failure:
        transform.run_prod(ctx=ctx, execution_time=tomorrow())
    message = str(failure.value)
    assert "bronze_is_fresh" in message and "raw_dvd_rental" in message
    assert "72." in message or "71." in message  # the age in hours is printed with the failing row


@pytest.mark.parametrize(
    ("age", "fresh"),
    [(25 * 60 + 50, True), (26 * 60 + 10, False)],  # minutes
    ids=["25h50m: fresh", "26h10m: stale"],
)
def test_freshness_boundary_is_26_hours(built: Path, tmp_path: Path, age: int, fresh: bool) -> None:
    """config.yaml's freshness_max_age_hours (26: a daily load plus slack), on both sides of the line:
    the newest extract 25 h 50 min old passes, 26 h 10 min old stops the run naming the table."""
    import duckdb

    from foundation.errors import TransformError

    warehouse = copy_warehouse(built, tmp_path / "dvdrental.duckdb")
    with duckdb.connect(str(warehouse)) as con:  # the audit compares with the real clock, not the run's time
        con.execute(stored_per_row("bronze.raw_dvd_rental"))
        con.execute(f"UPDATE bronze.raw_dvd_rental SET _airbyte_extracted_at = now() - INTERVAL {age} MINUTE")
    with sqlmesh_context(warehouse) as ctx:
        if fresh:
            assert transform.run_prod(ctx=ctx, execution_time=tomorrow()).is_success
        else:
            # the failing row: the table, its newest extract, its age (1570 min = 26.17 h) and the limit
            age_and_limit = r"bronze\.raw_dvd_rental, [^,]+, 26\.1\d*, 26\)"
            with pytest.raises(
                TransformError, match=rf"(?s)^sqlmesh run prod failed: audit bronze_is_fresh .*{age_and_limit}"
            ):
                transform.run_prod(ctx=ctx, execution_time=tomorrow())
