"""`dvdrental plan-diff` on a scratch copy of the project: what a model change does against prod.

Prod is built from the project's models (the session's sample build, copied to a scratch
warehouse; the models copied to a scratch project); then one staging model (what a silver
table publishes) is changed in the copy and the report must name it as
directly modified and the gold models below it as indirectly modified, with a table diff
showing the changed values. Prod is not touched by the report.

A change to a reference table (staging.dvd_customer) must reach only the models that read it:
not the event tables whose referential audits check against it, and with no floating-point noise
in the table diffs and no note contradicting the summary table.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dvdrental.reports.plan_diff import DIFF_ENV, NO_CHANGES, PlanDiffReport, write_plan_diff
from dvdrental.warehouse.lock import lock_path, pipeline_lock
from foundation.errors import LockHeldError
from foundation.paths import PROJECT_ROOT
from tests.support.warehouses import copy_project, copy_warehouse
from tests.support.warehouses import query as query_warehouse


@pytest.fixture
def scratch_prod(tmp_path: Path, warehouse: Path, sample_warehouse: Path) -> Path:  # noqa: F811
    """A scratch copy of the project and a private copy of a warehouse whose prod is built from it.

    The session's sample build is prod of these very models (SQLMesh fingerprints models by
    content, not path), so copying it stands for `plan prod` on the scratch project: the
    no-change report below checks exactly that.
    """
    project = copy_project(tmp_path / "project")
    copy_warehouse(sample_warehouse, warehouse)
    return project


def change_and_diff(
    project: Path, tmp_path: Path, staging_model: str, column: str, new: str
) -> tuple[str, PlanDiffReport]:
    """Rewrite ``column``'s line of a staging model of the scratch project as ``new``; the plan diff (text, report)."""
    model = project / "models" / "staging" / staging_model
    sql = model.read_text()
    line = f"\n  {column}, -- "
    assert line in sql, (staging_model, column)
    model.write_text(sql.replace(line, f"\n  {new}, -- "))
    path, report = write_plan_diff(tmp_path / "plan-diff.md", paths=[project])
    return path.read_text(), report


def test_model_change_is_reported_direct_and_indirect(scratch_prod: Path, tmp_path: Path, warehouse: Path) -> None:
    unchanged_path, unchanged = write_plan_diff(tmp_path / "unchanged.md", paths=[scratch_prod])
    assert not unchanged.has_changes
    assert NO_CHANGES in unchanged_path.read_text()

    # silver.dvd_country publishes it
    text, report = change_and_diff(scratch_prod, tmp_path, "dvd_country.sql", "country", "UPPER(country) AS country")

    assert report.named("directly modified") == ["staging.dvd_country"]
    indirect = set(report.named("indirectly modified"))
    assert {"silver.dvd_country", "gold.dim_address", "gold.fact_rental", "gold.report_rentals"} <= indirect
    assert all(name.startswith("gold.") or name == "silver.dvd_country" for name in indirect)
    direct = next(c for c in report.changes if c.name == "staging.dvd_country")
    assert direct.category == "breaking"
    assert "| `staging.dvd_country` | directly modified | breaking |" in text
    assert "| `gold.report_rentals` | indirectly modified |" in text
    assert "+  UPPER(country) AS country," in text  # the change itself
    assert (
        "## Models needing backfill" in text and "`silver.dvd_country`" in text.split("## Models needing backfill")[1]
    )

    # The table diff of the one big table shows the new values next to prod's.
    diff = next(d for d in report.table_diffs if d.model == "gold.report_rentals")
    assert diff.source_rows == diff.target_rows == diff.joined_rows == 16044
    assert diff.full_match_rows < diff.joined_rows
    assert diff.sample_columns[:3] == ("s__rental_id", "s__country", "t__country")
    assert all(target == source.upper() for _, source, target in diff.sample_rows)
    assert "### `gold.report_rentals`" in text

    # Prod is untouched and the throwaway environment is gone.
    countries = query_warehouse(warehouse, "SELECT count(*) FROM gold.report_rentals WHERE country = upper(country)")
    assert countries[0][0] < 16044
    schemas = {row[0] for row in query_warehouse(warehouse, "SELECT schema_name FROM information_schema.schemata")}
    assert not any(DIFF_ENV in schema for schema in schemas), schemas


def test_reference_change_leaves_the_event_chain_alone(scratch_prod: Path, tmp_path: Path) -> None:
    """A change to a reference table reaches only the models that read it, not those that audit against it.

    The change does not alter a value (no customer name has surrounding blanks), so every table
    diff must match in full: a difference there would be noise (floating-point sums).
    """
    text, report = change_and_diff(
        scratch_prod, tmp_path, "dvd_customer.sql", "first_name", "TRIM(first_name) AS first_name"
    )

    assert report.named("directly modified") == ["staging.dvd_customer"]
    indirect = set(report.named("indirectly modified"))
    # The models that read customers, directly or through the dimension...
    assert {"silver.dvd_customer", "gold.dim_customer", "gold.fact_rental", "gold.report_rentals"} <= indirect
    # ...but not the event tables, whose referential audit checks rentals' customers.
    assert not indirect & {"staging.dvd_rental", "silver.dvd_rental", "staging.dvd_payment", "silver.dvd_payment"}
    assert {b.name for b in report.backfills}.isdisjoint({"staging.dvd_rental", "silver.dvd_rental"})

    # Same values, so every gold table diffed matches prod row for row: no float noise is reported.
    assert "Numbers are compared at 6 decimal places." in text
    assert {d.model for d in report.table_diffs} == {
        "gold.fact_rental",
        "gold.fact_rental_monthly",
        "gold.report_rentals",
    }
    for diff in report.table_diffs:
        assert diff.full_match_rows == diff.joined_rows == diff.source_rows == diff.target_rows, diff.model
        assert diff.sample_rows == (), diff.model

    # One truth: the dimension is forward-only (SQLMesh's default for SCD type 2 kinds), so it keeps
    # prod's table and gets no table diff; the table and the note say so in the same words.
    dim = report.change_of("gold.dim_customer")
    assert dim is not None and dim.category == "indirect breaking" and dim.forward_only
    assert "| `gold.dim_customer` | indirectly modified | indirect breaking, forward-only |" in text
    for note in report.notes:
        change = report.change_of(note.split(":")[0])
        if change is not None:
            assert f"({change.category}" in note and ("forward-only" in note) == change.forward_only, note
    assert "non-breaking" not in text.split("## Notes")[1]


# -- `dvdrental plan-diff --base-ref REF` (what .ci/run runs) and the pipeline lock -----------------


def _clone_with_a_change(tmp_path: Path) -> Path:
    """A git clone of this checkout's HEAD with staging.dvd_country changed in its working tree (uncommitted).

    The clone runs this checkout's code as it is (the Python packages copied over HEAD's), so the test
    covers uncommitted code too; git HEAD only provides the models the base is built from."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(PROJECT_ROOT), str(clone)], check=True)
    for package in ("foundation", "ingest", "dvdrental"):
        shutil.copytree(
            PROJECT_ROOT / package, clone / package, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
        )
    model = clone / "models" / "staging" / "dvd_country.sql"
    sql = model.read_text()
    assert "\n  country, -- " in sql
    model.write_text(sql.replace("\n  country, -- ", "\n  UPPER(country) AS country, -- "))
    return clone


def _plan_diff_in(clone: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`python -m dvdrental plan-diff` run from the clone (its packages, its PROJECT_ROOT)."""
    return subprocess.run(
        [sys.executable, "-m", "dvdrental", "plan-diff", *args],
        cwd=clone,
        env={**env, "PYTHONPATH": str(clone)},
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_base_ref_builds_prod_from_the_ref_and_never_opens_the_warehouse(pristine_dsn: str, tmp_path: Path) -> None:
    """docs/operations.md: `plan-diff --base-ref HEAD` builds HEAD's prod on a scratch warehouse and reports
    the working tree's uncommitted change against it, "without touching your warehouse"."""
    clone = _clone_with_a_change(tmp_path)
    warehouse = tmp_path / "mine" / "dvdrental.duckdb"  # the user's warehouse: must never be created
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "SQLMESH_GATEWAY"))}
    env.update(
        DVD_SOURCE_DSN=pristine_dsn,
        DVD_WAREHOUSE_PATH=str(warehouse),
        SQLMESH__DISABLE_ANONYMIZED_ANALYTICS="true",
    )
    done = _plan_diff_in(clone, env, "--base-ref", "HEAD")
    assert done.returncode == 0, done.stderr[-3000:]
    report = (clone / "artifacts" / "plan-diff.md").read_text()
    assert "| `staging.dvd_country` | directly modified | breaking |" in report
    assert "| `gold.report_rentals` | indirectly modified |" in report
    assert not warehouse.exists() and not warehouse.parent.exists()

    # Unchanged against its own HEAD: nothing to report (the ref's prod is the working tree's).
    subprocess.run(["git", "checkout", "-q", "--", "models"], cwd=clone, check=True)
    same = _plan_diff_in(clone, env, "--base-ref", "HEAD")
    assert same.returncode == 0, same.stderr[-3000:]
    assert NO_CHANGES in (clone / "artifacts" / "plan-diff.md").read_text()


def test_plan_diff_never_runs_over_a_daily_run(warehouse: Path, tmp_path: Path) -> None:
    """docs/operations.md: "It holds the pipeline lock, so it never runs over a `daily`": while a daily run
    holds the lock, plan-diff exits at once with 75 and one line, and writes no report."""
    report = tmp_path / "plan-diff.md"
    with pipeline_lock(lock_path(warehouse), purpose="dvdrental daily"):
        done = subprocess.run(
            [sys.executable, "-m", "dvdrental", "plan-diff", "--output", str(report)],
            cwd=PROJECT_ROOT,
            env={**os.environ, "DVD_WAREHOUSE_PATH": str(warehouse)},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == LockHeldError.exit_code == 75, done.stderr
    assert "holds the pipeline lock" in done.stderr and "dvdrental daily" in done.stderr
    assert not report.exists()
