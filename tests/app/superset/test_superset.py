"""The five answers in a real Apache Superset, served from the local warehouse.

One Superset server for the module (its own venv under .local/superset/, installed once;
a temporary home with SQLite metadata; 127.0.0.1 on a free port) on a private copy of the
session's sample build, with the bundle imported through Superset's import API:

* every chart's data, read through ``/api/v1/chart/{id}/data``, equals what
  ``dvdrental.reports.answers`` computes from the same warehouse (revenue per month: plain SQL);
* headless Chromium logs in, opens the dashboard, waits until every chart has drawn its
  table, and saves artifacts/screenshots/superset-dashboard.png;
* ``dvdrental daily`` succeeds while the server is up and has served the dashboard (Superset
  opens the DuckDB file read-only, one connection per query), and the charts still answer;
* Preset's own CLI (``superset-cli … sync native dashboards/bundle``, the flags the publish workflow
  uses) syncs the bundle directory as committed: the same assets, answering the same, and a second
  sync changes nothing;
* the Databricks bundle holds no secret, is refused without a token, and imports (with a
  dummy token and an unresolvable host: nothing connects) as a Databricks database, the
  dataset in ``<catalog>.gold``; the local assets are imported back afterwards, so the tests
  run in any order.

Bad input, without Superset: ``export-bundle`` without the Databricks settings names them
(exit 2), ``serve`` without a warehouse says to build it (exit 4).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from dvdrental.reports.answers import QUESTIONS, answers_from_duckdb
from dvdrental.superset.api import SupersetClient
from dvdrental.superset.bundle import (
    BUNDLE_DIR,
    DATABASE_FILE,
    LOCAL_URI,
    PASSWORD_MASK,
    databricks_target,
    local_target,
    write_bundle,
)
from dvdrental.superset.errors import SupersetError
from dvdrental.superset.install import ensure_preset_cli
from dvdrental.superset.local import LocalSuperset, start_local
from foundation.paths import PROJECT_ROOT
from tests.app.superset.test_bundle import SYNC_FLAGS
from tests.support.browser import open_browser, require_browser, screenshot
from tests.support.required import missing
from tests.support.warehouses import copy_warehouse, query, warehouse_env

pytestmark = [pytest.mark.superset, pytest.mark.browser]


DVDRENTAL = str(Path(sys.executable).with_name("dvdrental"))
TITLES = {question.key: question.title for question in QUESTIONS}

# Chart (by its uuid in dashboards/bundle/charts/) -> the question of dvdrental/reports/answers.py it answers.
CHART_QUESTIONS = {
    "e778dee9-0437-47e1-94ba-3de89fcc1de9": "top_films",
    "27813fa0-3f2b-4dac-9a1a-341ed294ecf0": "top_categories",
    "9c933549-3b91-410a-a385-f29f7907ec57": "rentals_by_weekday",
    "e0cc3c21-aefd-4268-85a2-ecdfced56677": "top_countries",
    "38a31e80-3ea1-427f-a7b6-02a38c4a6481": "longest_rentals_by_country",
}
REVENUE_CHART = "b7046fa2-bd73-4b41-b93d-6cf90ed80e7c"


def _run_dvdrental(*args: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DATABRICKS_")}
    full_env.update(env)
    return subprocess.run(
        [DVDRENTAL, *args], env=full_env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )


def test_export_without_databricks_settings_names_them(tmp_path: Path) -> None:
    result = _run_dvdrental("superset", "export-bundle", "--output", str(tmp_path / "b.zip"), DATABRICKS_CATALOG="main")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()], "one line"
    assert "DATABRICKS_SERVER_HOSTNAME, DATABRICKS_HTTP_PATH" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "b.zip").exists()


def test_serve_without_warehouse_says_build_it_first(tmp_path: Path) -> None:
    missing = tmp_path / "none" / "dvdrental.duckdb"
    result = _run_dvdrental("superset", "serve", DVD_WAREHOUSE_PATH=str(missing))
    assert result.returncode == 4
    assert "make demo" in result.stderr and str(missing) in result.stderr and "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def module_warehouse(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:  # noqa: F811
    path = copy_warehouse(sample_warehouse, tmp_path_factory.mktemp("superset_wh") / "dvdrental.duckdb")
    with warehouse_env(path):
        yield path


@pytest.fixture(scope="module")
def superset(module_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSuperset]:
    started = time.monotonic()
    try:
        local = start_local(module_warehouse, home=tmp_path_factory.mktemp("superset_home"))
    except SupersetError as error:
        if "pip install" in str(error) or "virtual environment" in str(error):
            missing(f"Apache Superset cannot be installed on this machine: {error}")
        raise
    print(f"\nSuperset home ready, server up and bundle imported in {time.monotonic() - started:.1f} s")
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="module")
def client(superset: LocalSuperset) -> Iterator[SupersetClient]:
    with superset.client() as api:
        yield api


def _chart_ids(client: SupersetClient) -> dict[str, int]:
    return {chart["uuid"]: chart["id"] for chart in client.charts()}


def _answer_rows(warehouse: Path) -> dict[str, list[tuple]]:
    """Each question's rows as `dvdrental answers` computes them, averages to 2 places."""
    return {a.question.key: [tuple(_plain(v) for v in row) for row in a.rows] for a in answers_from_duckdb(warehouse)}


def _chart_rows(client: SupersetClient, chart_id: int, rounded: bool = False) -> list[tuple]:
    rows = client.chart_data(chart_id)
    return [tuple(round(v, 2) if rounded and isinstance(v, float) else _plain(v) for v in row.values()) for row in rows]


def _plain(value: object) -> object:
    return float(value) if isinstance(value, Decimal) else value


def _assert_charts_equal_answers(client: SupersetClient, warehouse: Path) -> None:
    ids = _chart_ids(client)
    expected = _answer_rows(warehouse)
    for uuid, key in CHART_QUESTIONS.items():
        got = _chart_rows(client, ids[uuid], rounded=key == "longest_rentals_by_country")
        assert got == expected[key], f"{TITLES[key]}: Superset {got[:3]}... != answers {expected[key][:3]}..."
    # The sixth chart, revenue per month, against plain SQL on the same table.
    months = query(
        warehouse,
        "SELECT epoch_ms(rental_month::TIMESTAMP), SUM(payment_amount), COUNT(*) "
        "FROM gold.report_rentals GROUP BY rental_month ORDER BY rental_month",
    )
    got = _chart_rows(client, ids[REVENUE_CHART])
    assert got == [(float(ms), float(revenue), n) for ms, revenue, n in months]


def test_every_chart_returns_the_answers(client: SupersetClient, module_warehouse: Path) -> None:
    dashboards = {d["slug"]: d for d in client.dashboards()}
    assert "dvd-rentals" in dashboards
    charts = client.charts()
    assert len(charts) == 6 and {c["viz_type"] for c in charts} == {"table"}
    expected = _answer_rows(module_warehouse)
    # Spot checks a person can read (computed above from the warehouse, not copied).
    assert expected["top_films"][0] == ("Bucket Brotherhood", 34)
    assert expected["top_categories"][0] == ("Sports", 1179)
    assert [row[0] for row in expected["rentals_by_weekday"]] == [1, 2, 3, 4, 5, 6, 7]
    _assert_charts_equal_answers(client, module_warehouse)


def test_dashboard_renders_in_chromium(superset: LocalSuperset, client: SupersetClient) -> None:
    require_browser()
    titles = sorted(chart["slice_name"] for chart in client.charts())
    finished: list[str] = []
    blocked: dict[str, str | None] = {}
    with open_browser(viewport=(1600, 2300)) as (page, log):
        page.on("requestfinished", lambda request: finished.append(request.url))
        page.on("requestfailed", lambda request: blocked.update({request.url: request.failure}))
        page.goto(f"{superset.server.url}/login/")
        page.fill("input#username", "admin")
        page.fill("input#password", superset.prepared.home.admin_password())
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url: "/login" not in url, timeout=60_000)
        page.goto(superset.dashboard_url)
        # Six chart holders (the seventh is the introduction) have drawn a table with rows:
        # all six queries ran and rendered.
        page.wait_for_function(
            """() => [...document.querySelectorAll('.dashboard-component-chart-holder')]
                .filter(h => h.querySelector('table tbody tr')).length === 6""",
            timeout=180_000,
        )
        page.wait_for_timeout(1500)  # let the last fonts and bars settle for the picture
        shot = screenshot(page, "superset-dashboard")
        text = page.locator("body").inner_text()
        for title in titles:
            assert title in text
        for word in ("Bucket Brotherhood", "Sports", "Monday", "India", "Nepal"):
            assert word in text
        lowered = text.lower()
        assert "no results" not in lowered and "unexpected error" not in lowered
        assert page.locator(".dashboard-component-chart-holder .ant-alert-error").count() == 0
    assert shot.stat().st_size > 50_000
    # Nothing but our server answered: Superset's telemetry pixel (which its frontend always
    # draws) is stopped by superset_config.py's content security policy before it leaves.
    local = (superset.server.url, "data:", "blob:")
    assert [url for url in finished if not url.startswith(local)] == []
    assert {failure for url, failure in blocked.items() if not url.startswith(local)} <= {"csp"}


def test_daily_succeeds_while_superset_serves(
    superset: LocalSuperset, client: SupersetClient, module_warehouse: Path, pristine_dsn: str, tmp_path: Path
) -> None:
    _chart_rows(client, _chart_ids(client)[REVENUE_CHART])  # Superset has just read the warehouse
    env = dict(os.environ)
    env.update(
        DVD_SOURCE_DSN=pristine_dsn,  # daily only reads the source
        DVD_WAREHOUSE_PATH=str(module_warehouse),
        DVD_LOG_DIR=str(tmp_path / "logs"),
        DVD_INGEST_VIA="direct",
        SQLMESH__DISABLE_ANONYMIZED_ANALYTICS="true",
    )
    result = subprocess.run(
        [DVDRENTAL, "daily"], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "daily ok:" in result.stdout
    assert superset.server.process.poll() is None, "Superset must still be up"
    _assert_charts_equal_answers(client, module_warehouse)  # and it reads the warehouse daily wrote


def test_databricks_bundle_has_no_secret_and_imports(
    client: SupersetClient, module_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "dapi-test-token-that-must-not-leak-0123456789"
    monkeypatch.setenv("DATABRICKS_SERVER_HOSTNAME", "dvd-dummy-workspace.invalid")
    monkeypatch.setenv("DATABRICKS_HTTP_PATH", "/sql/1.0/warehouses/dummy123")
    monkeypatch.setenv("DATABRICKS_CATALOG", "dvd_catalog")
    monkeypatch.setenv("DATABRICKS_TOKEN", token)
    bundle = write_bundle(databricks_target(), tmp_path / "superset-databricks.zip")
    with zipfile.ZipFile(bundle) as archive:
        contents = {name: archive.read(name).decode() for name in archive.namelist()}
    assert not any(token in text for text in contents.values())
    database = next(text for name, text in contents.items() if name.endswith(DATABASE_FILE))
    assert f"token:{PASSWORD_MASK}@dvd-dummy-workspace.invalid" in database

    _remove_all_assets(client)  # the Databricks database has the local one's uuid
    try:
        with pytest.raises(SupersetError):
            client.import_dashboard(bundle)  # "Must provide a password for the database"
        client.import_dashboard(bundle, passwords={DATABASE_FILE: "dummy-token"})

        databases = client.get("/api/v1/database/")["result"]
        assert [(d["backend"], d["database_name"]) for d in databases] == [("databricks", "DVD rental warehouse")]
        datasets = client.get("/api/v1/dataset/", q="(columns:!(catalog,schema,table_name))")["result"]
        assert [(d["catalog"], d["schema"], d["table_name"]) for d in datasets] == [
            ("dvd_catalog", "gold", "report_rentals")
        ]
        dashboard = next(d for d in client.dashboards() if d["slug"] == "dvd-rentals")
        charts = client.get(f"/api/v1/dashboard/{dashboard['id']}/charts")["result"]
        assert len(charts) == 6
    finally:  # the local assets back, as start_local imported them: the other tests may run after this one
        _remove_all_assets(client)
        client.import_dashboard(write_bundle(local_target(module_warehouse), tmp_path / "superset-local.zip"))


def test_preset_cli_syncs_the_bundle_directory(
    superset: LocalSuperset, client: SupersetClient, module_warehouse: Path, tmp_path: Path
) -> None:
    """The real ``superset-cli`` (preset-cli, pinned in preset-cli-requirements.txt, its own venv) syncs
    dashboards/bundle/ as committed into the local Superset: one DuckDB database, the dataset, six charts
    and the dashboard, managed externally, answering as ``dvdrental answers``; run twice, the second
    sync changes nothing (the same ids, nothing doubled)."""
    try:
        cli = ensure_preset_cli()
    except SupersetError as error:  # a bad pin or a missing wheel fails the suite, never skips it
        pytest.fail(f"Preset's CLI could not be installed: {error}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABRICKS_")}
    env.update({LOCAL_URI: f"duckdb:///{module_warehouse.resolve()}", "HOME": str(tmp_path)})
    command = [str(cli), "--username", "admin", "--password", superset.prepared.home.admin_password()]
    command += [superset.server.url, *SYNC_FLAGS[:2], str(BUNDLE_DIR), *SYNC_FLAGS[2:]]
    _remove_all_assets(client)
    try:
        inventories = []
        for _ in range(2):
            started = time.monotonic()
            result = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
            assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
            print(f"\nsuperset-cli sync native: {time.monotonic() - started:.1f} s")
            inventories.append(_inventory(client))
        assert inventories[0] == inventories[1], "the second sync must change nothing"
        databases = client.get("/api/v1/database/")["result"]
        assert [(d["backend"], d["database_name"]) for d in databases] == [("duckdb", "DVD rental warehouse")]
        kinds = [kind for kind, _ in inventories[0]]
        assert (kinds.count("dataset"), kinds.count("chart"), kinds.count("dashboard")) == (1, 6, 1)
        dashboard = next(d for d in client.dashboards() if d["slug"] == "dvd-rentals")
        assert client.get(f"/api/v1/dashboard/{dashboard['id']}")["result"]["is_managed_externally"] is True
        assert len(client.get(f"/api/v1/dashboard/{dashboard['id']}/charts")["result"]) == 6
        _assert_charts_equal_answers(client, module_warehouse)
    finally:  # the assets back as start_local imported them: the other tests may run after this one
        _remove_all_assets(client)
        client.import_dashboard(write_bundle(local_target(module_warehouse), tmp_path / "superset-local.zip"))


def _inventory(client: SupersetClient) -> dict[tuple[str, str], int]:
    """Every asset by (kind, uuid) -> id: equal after a rerun means updated in place, nothing added."""
    found = {("chart", c["uuid"]): c["id"] for c in client.charts()}
    found.update({("dashboard", d["uuid"]): d["id"] for d in client.dashboards()})
    for kind in ("dataset", "database"):
        query = json.dumps({"columns": ["id", "uuid"], "page_size": 100})
        found.update({(kind, row["uuid"]): row["id"] for row in client.get(f"/api/v1/{kind}/", q=query)["result"]})
    return found


def _remove_all_assets(client: SupersetClient) -> None:
    for dashboard in client.dashboards():
        client.delete(f"/api/v1/dashboard/{dashboard['id']}")
    for chart in client.charts():
        client.delete(f"/api/v1/chart/{chart['id']}")
    for dataset in client.get("/api/v1/dataset/")["result"]:
        client.delete(f"/api/v1/dataset/{dataset['id']}")
    for database in client.get("/api/v1/database/")["result"]:
        client.delete(f"/api/v1/database/{database['id']}")
