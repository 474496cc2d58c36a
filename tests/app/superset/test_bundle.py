"""The bundle directory as Preset's CLI and `dvdrental superset` render it, without a Superset.

dashboards/bundle/ is what ``preset-cli superset sync native --load-env`` reads; the same files
rendered by dvdrental/superset/bundle.py make the importable zip. These tests read the rendered
files: the database and the dataset for each target, the secrets kept out, a missing setting named,
and each chart's committed query_context equal to what its params make (the query Superset runs
for ``/api/v1/chart/{id}/data``, alerts and reports).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from dvdrental.superset.bundle import (
    BUNDLE_DIR,
    DATABASE_FILE,
    DATABASE_UUID,
    PASSWORD_MASK,
    Target,
    bundle_files,
    databricks_target,
    local_target,
    render,
)
from dvdrental.superset.query_context import query_context
from foundation.errors import ConfigError

DATABRICKS = {
    "DATABRICKS_SERVER_HOSTNAME": "dvd-dummy-workspace.invalid",
    "DATABRICKS_HTTP_PATH": "/sql/1.0/warehouses/dummy123",
    "DATABRICKS_CATALOG": "dvd_catalog",
}
DATASET = "datasets/dvdrental_warehouse/report_rentals_ranked.yaml"
# How the bundle is synced, here (test_superset.py, into the local Superset), in docs/setup.md step 6 and in
# .github/workflows/dashboard.yml (into Preset): the same flags everywhere.
SYNC_FLAGS = ("sync", "native", "--overwrite", "--load-env", "--disallow-edits")


@pytest.mark.parametrize("chart", sorted(BUNDLE_DIR.glob("charts/*.yaml")), ids=lambda p: p.stem)
def test_committed_query_context_is_what_the_params_make(chart: Path) -> None:
    content = yaml.safe_load(chart.read_text())
    assert json.loads(content["query_context"]) == query_context(content["params"]), (
        f"{chart.name}: params changed without their query_context; write "
        "json.dumps(query_context(params), separators=(',', ':')) as query_context"
    )


def test_local_target_reads_the_duckdb_file_read_only(tmp_path: Path) -> None:
    files = bundle_files(local_target(tmp_path / "dvdrental.duckdb"))
    database = files[DATABASE_FILE]
    assert database["sqlalchemy_uri"] == f"duckdb:///{(tmp_path / 'dvdrental.duckdb').resolve()}"
    assert database["extra"]["engine_params"] == {"connect_args": {"read_only": True}}
    assert database["uuid"] == DATABASE_UUID
    assert (files[DATASET]["catalog"], files[DATASET]["schema"]) == (None, "gold")
    assert files[DATASET]["database_uuid"] == DATABASE_UUID
    assert len([name for name in files if name.startswith("charts/")]) == 7


def test_databricks_target_masks_the_token_whatever_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    token = "dapi-test-token-that-must-not-leak-0123456789"
    for name, value in DATABRICKS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABRICKS_TOKEN", token)  # in the environment, never in the export
    files = bundle_files(databricks_target())
    uri = files[DATABASE_FILE]["sqlalchemy_uri"]
    assert uri == (
        f"databricks://token:{PASSWORD_MASK}@dvd-dummy-workspace.invalid:443"
        "?http_path=/sql/1.0/warehouses/dummy123&catalog=dvd_catalog&schema=gold"
    )
    assert files[DATABASE_FILE]["extra"]["engine_params"] == {}
    assert files[DATASET]["catalog"] == "dvd_catalog"
    assert token not in yaml.safe_dump(files)


def test_preset_cli_environment_without_a_token_names_it() -> None:
    """What `preset-cli ... sync native --load-env` renders on a runner whose secret is missing:
    the bundle's raise() names the variable (here the project's ConfigError, one line)."""
    with pytest.raises(ConfigError, match=r"^Set DATABRICKS_TOKEN \(docs/setup.md, step 6\)"):
        render(BUNDLE_DIR / "databases" / "dvdrental_warehouse.yaml", dict(DATABRICKS))


def test_the_token_from_the_environment_reaches_the_uri() -> None:
    """With the runner's secret set, the rendered URI carries it (what the sync sends to Preset)."""
    env = {**DATABRICKS, "DATABRICKS_TOKEN": "dapi-from-the-ci-store"}
    database = render(BUNDLE_DIR / "databases" / "dvdrental_warehouse.yaml", env)
    assert database["sqlalchemy_uri"].startswith(
        "databricks://token:dapi-from-the-ci-store@dvd-dummy-workspace.invalid:"
    )
    assert bundle_files(Target("x", env))[DATASET]["catalog"] == "dvd_catalog"
