"""`dvdrental plan-diff` on a scratch copy of the project: what a model change does against prod.

Prod is built from the project's models (the session's sample build, copied to a scratch
warehouse; the models copied to a scratch project); then one staging model (what a silver table publishes) is changed in the copy and the report must name it as
directly modified and the gold models below it as indirectly modified, with a table diff
showing the changed values. Prod is not touched by the report.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dvdrental.reports.plan_diff import DIFF_ENV, NO_CHANGES, write_plan_diff
from tests.models_fixtures import copy_project, copy_warehouse, sample_warehouse  # noqa: F401 (fixture)
from tests.models_fixtures import query as query_warehouse


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


def test_model_change_is_reported_direct_and_indirect(scratch_prod: Path, tmp_path: Path, warehouse: Path) -> None:
    unchanged_path, unchanged = write_plan_diff(tmp_path / "unchanged.md", paths=[scratch_prod])
    assert not unchanged.has_changes
    assert NO_CHANGES in unchanged_path.read_text()

    model = scratch_prod / "models" / "staging" / "dvd_country.sql"  # silver.dvd_country publishes it
    sql = model.read_text()
    assert "  country, -- Country name." in sql
    model.write_text(sql.replace("  country, -- Country name.", "  UPPER(country) AS country, -- Country name."))

    path, report = write_plan_diff(tmp_path / "plan-diff.md", paths=[scratch_prod])
    text = path.read_text()

    assert report.named("directly modified") == ["staging.dvd_country"]
    indirect = set(report.named("indirectly modified"))
    assert {"silver.dvd_country", "gold.dim_address", "gold.fact_rental", "gold.report_rentals"} <= indirect
    assert all(name.startswith("gold.") or name == "silver.dvd_country" for name in indirect)
    direct = next(c for c in report.changes if c.name == "staging.dvd_country")
    assert direct.category == "breaking"
    assert "| `staging.dvd_country` | directly modified | breaking |" in text
    assert "| `gold.report_rentals` | indirectly modified |" in text
    assert "+  UPPER(country) AS country," in text  # the change itself
    assert "## Models needing backfill" in text and "`silver.dvd_country`" in text.split("## Models needing backfill")[1]

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
