"""The five answers in a real Apache Superset, served from the local warehouse.

One Superset server for the module (its own venv under .local/superset/, installed once;
a temporary home with SQLite metadata; 127.0.0.1 on a free port) on a private copy of the
session's sample build, with the bundle imported through Superset's import API:

* every chart's data, read through ``/api/v1/chart/{id}/data`` (its committed query), equals what
  ``dvdrental.reports.answers`` computes from the same warehouse (revenue per month and the map: plain
  SQL), and no chart returns as many rows as its row_limit (Superset's "limit reached" mark);
* headless Chromium logs in, opens the dashboard, waits until all seven charts have drawn, checks that
  the queries the page sends are the committed ones, and saves artifacts/screenshots/superset-dashboard.png;
* ``dvdrental daily`` succeeds while the server is up and has served the dashboard (Superset
  opens the DuckDB file read-only, one connection per query), and the charts still answer;
* a kept Superset home gets changed charts (the assets importer overwrites; the dashboard importer does not);
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
import typing as t
import zipfile
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

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
from dvdrental.superset.local import LocalSuperset, import_local_bundle, start_local
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
MAP_CHART = "5f0b7a0e-3c1d-4d4e-9a51-2f6f3b0c8e11"
VIZ_TYPES = {"echarts_timeseries_bar": 5, "echarts_timeseries_line": 1, "world_map": 1}


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


def _bundle_charts() -> dict[str, dict]:
    """The committed charts by uuid (their params and saved query_context)."""
    charts = (yaml.safe_load(path.read_text()) for path in sorted((BUNDLE_DIR / "charts").glob("*.yaml")))
    return {chart["uuid"]: chart for chart in charts}


def _plain(value: object) -> object:
    return float(value) if isinstance(value, Decimal) else value


def _as_answer(key: str, rows: list[dict]) -> list[tuple]:
    """A chart's rows read as the answer's rows. A ranking's bars come bottom-up (Superset draws the
    first category at the bottom, so the rank is sorted descending to put the first on top)."""
    if key == "rentals_by_weekday":  # "1 Monday" .. "7 Sunday", in that order
        return [(int(row["day"].split(" ")[0]), row["day"].split(" ", 1)[1], row["rentals"]) for row in rows]
    ranked = list(reversed(rows))
    assert [row["rank"] for row in ranked] == list(range(1, len(rows) + 1)), "bars in the order of their rank"
    name, value = (c for c in rows[0] if c != "rank")
    if key == "longest_rentals_by_country":
        return [(row[name], round(row[value], 2)) for row in ranked]
    return [(row[name], row[value]) for row in ranked]


def _assert_charts_equal_answers(client: SupersetClient, warehouse: Path) -> None:
    ids = _chart_ids(client)
    bundle = _bundle_charts()
    expected = _answer_rows(warehouse)
    results = {uuid: client.chart_result(ids[uuid]) for uuid in bundle}
    for uuid, key in CHART_QUESTIONS.items():
        got = _as_answer(key, results[uuid]["data"])
        want = [row[:2] for row in expected[key]] if key == "longest_rentals_by_country" else expected[key]
        assert got == want, f"{TITLES[key]}: Superset {got[:3]}... != answers {want[:3]}..."
    # Revenue per month against plain SQL on the same table; the months between without a rental are 0.
    months = dict(
        query(
            warehouse,
            "SELECT epoch_ms(rental_month::TIMESTAMP), SUM(payment_amount) FROM gold.report_rentals GROUP BY 1",
        )
    )
    got = [(row["rental_month"], row["revenue"]) for row in results[REVENUE_CHART]["data"]]
    assert {ms for ms, _ in got} >= set(months) and len(got) == len({ms for ms, _ in got})
    assert got == sorted((ms, float(months.get(ms, 0))) for ms, _ in got)
    # The map: every country's rentals, as plain SQL counts them.
    countries = query(warehouse, "SELECT COUNT(*) FROM gold.report_rentals GROUP BY country")
    got_map = [row["rentals"] for row in results[MAP_CHART]["data"]]
    assert sorted(got_map) == sorted(n for (n,) in countries)
    # No chart returns as many rows as its row_limit: Superset would mark it "limit reached" (a warning
    # sign in its header, the three top-10 tables' mark before the cut became the dataset's ranks).
    for uuid, result in results.items():
        limit = bundle[uuid]["params"]["row_limit"]
        assert result["sql_rowcount"] < limit, (
            f"{bundle[uuid]['slice_name']}: {result['sql_rowcount']} rows, limit {limit}"
        )


def test_every_chart_returns_the_answers(client: SupersetClient, module_warehouse: Path) -> None:
    dashboards = {d["slug"]: d for d in client.dashboards()}
    assert "dvd-rentals" in dashboards
    charts = client.charts()
    assert Counter(c["viz_type"] for c in charts) == VIZ_TYPES
    expected = _answer_rows(module_warehouse)
    # Spot checks a person can read (computed above from the warehouse, not copied).
    assert expected["top_films"][0] == ("Bucket Brotherhood", 34)
    assert expected["top_categories"][0] == ("Sports", 1179)
    assert [row[0] for row in expected["rentals_by_weekday"]] == [1, 2, 3, 4, 5, 6, 7]
    _assert_charts_equal_answers(client, module_warehouse)


def test_dashboard_renders_in_chromium(superset: LocalSuperset, client: SupersetClient, module_warehouse: Path) -> None:
    """The dashboard as a person opens it: every chart drawn (six ECharts canvases, the world map's
    SVG), no error, and what the page asked for is what the bundle commits:
    each ECharts chart's queries equal its saved query_context (dvdrental/superset/query_context.py,
    held here to the real frontend), and the map placed every country with rentals."""
    require_browser()
    titles = sorted(chart["slice_name"] for chart in client.charts())
    by_id = {chart_id: uuid for uuid, chart_id in _chart_ids(client).items()}
    bundle = _bundle_charts()
    finished: list[str] = []
    blocked: dict[str, str | None] = {}
    sent: dict[str, list] = {}  # chart uuid -> the queries the dashboard sent for it
    maps: list[dict] = []  # the world map's answers (legacy /superset/explore_json/)

    def record(response: t.Any) -> None:
        request = response.request
        if "/api/v1/chart/data" in response.url and request.method == "POST":
            body = json.loads(request.post_data)
            sent[by_id[body["form_data"]["slice_id"]]] = body["queries"]
        elif "/superset/explore_json/" in response.url and response.status == 200:
            maps.append(response.json())

    with open_browser(viewport=(1600, 2800)) as (page, log):
        page.on("requestfinished", lambda request: finished.append(request.url))
        page.on("requestfailed", lambda request: blocked.update({request.url: request.failure}))
        page.on("response", record)
        page.goto(f"{superset.server.url}/login/")
        page.fill("input#username", "admin")
        page.fill("input#password", superset.prepared.home.admin_password())
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url: "/login" not in url, timeout=60_000)
        page.goto(superset.dashboard_url)
        # Seven chart holders (the eighth is the introduction) have drawn: six ECharts canvases, one map.
        page.wait_for_function(
            """() => [...document.querySelectorAll('.dashboard-component-chart-holder')]
                .filter(h => h.querySelector('canvas, svg.datamap path')).length === 7""",
            timeout=180_000,
        )
        page.wait_for_timeout(2500)  # let the bars' and the line's animations end for the picture
        shot = screenshot(page, "superset-dashboard")
        text = page.locator("body").inner_text()
        for title in titles:
            assert title in text
        lowered = text.lower()
        assert "no results" not in lowered and "unexpected error" not in lowered
        assert page.locator(".dashboard-component-chart-holder .ant-alert-error").count() == 0
    assert shot.stat().st_size > 50_000
    echarts = {uuid for uuid, chart in bundle.items() if chart["viz_type"].startswith("echarts_")}
    assert set(sent) == echarts
    for uuid in echarts:
        assert sent[uuid] == json.loads(bundle[uuid]["query_context"])["queries"], bundle[uuid]["slice_name"]
    (answer,) = maps
    placed = [row for row in answer["data"] if row["country"] != "XXX"]  # XXX: a name the map does not know
    assert len(placed) == len(answer["data"]) == 108
    assert sum(row["m1"] for row in placed) == query(module_warehouse, "SELECT COUNT(*) FROM gold.report_rentals")[0][0]
    # Nothing but our server answered: Superset's telemetry pixel (which its frontend always
    # draws) is stopped by superset_config.py's content security policy before it leaves.
    local = (superset.server.url, "data:", "blob:")
    assert [url for url in finished if not url.startswith(local)] == []
    assert {failure for url, failure in blocked.items() if not url.startswith(local)} <= {"csp"}


def test_daily_succeeds_while_superset_serves(
    superset: LocalSuperset, client: SupersetClient, module_warehouse: Path, pristine_dsn: str, tmp_path: Path
) -> None:
    client.chart_data(_chart_ids(client)[REVENUE_CHART])  # Superset has just read the warehouse
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
            ("dvd_catalog", "gold", "report_rentals_ranked")
        ]
        dashboard = next(d for d in client.dashboards() if d["slug"] == "dvd-rentals")
        charts = client.get(f"/api/v1/dashboard/{dashboard['id']}/charts")["result"]
        assert len(charts) == 7
    finally:  # the local assets back, as start_local imported them: the other tests may run after this one
        _remove_all_assets(client)
        client.import_dashboard(write_bundle(local_target(module_warehouse), tmp_path / "superset-local.zip"))


def test_preset_cli_syncs_the_bundle_directory(
    superset: LocalSuperset, client: SupersetClient, module_warehouse: Path, tmp_path: Path
) -> None:
    """The real ``superset-cli`` (preset-cli, pinned in preset-cli-requirements.txt, its own venv) syncs
    dashboards/bundle/ as committed into the local Superset: one DuckDB database, the dataset, seven charts
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
        assert (kinds.count("dataset"), kinds.count("chart"), kinds.count("dashboard")) == (1, 7, 1)
        dashboard = next(d for d in client.dashboards() if d["slug"] == "dvd-rentals")
        assert client.get(f"/api/v1/dashboard/{dashboard['id']}")["result"]["is_managed_externally"] is True
        assert len(client.get(f"/api/v1/dashboard/{dashboard['id']}/charts")["result"]) == 7
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


def test_serving_again_brings_the_charts_as_committed(
    client: SupersetClient, module_warehouse: Path, tmp_path: Path
) -> None:
    """A Superset home kept from an earlier ``dvdrental superset serve`` (.local/superset/home) shows the
    charts as committed now. Superset's dashboard importer keeps a chart that already exists (even with
    overwrite), so the local Superset imports every asset through the assets API, overwritten."""
    top_films = "e778dee9-0437-47e1-94ba-3de89fcc1de9"
    committed = _bundle_charts()[top_films]["slice_name"]
    current = write_bundle(local_target(module_warehouse), tmp_path / "current.zip")
    earlier = tmp_path / "earlier.zip"
    with zipfile.ZipFile(current) as source, zipfile.ZipFile(earlier, "w") as target:
        for name in source.namelist():
            text = source.read(name).decode()
            if name.endswith("charts/top_films.yaml"):
                text = text.replace(f"slice_name: {committed}", "slice_name: Top films, as first imported")
            target.writestr(name, text)

    def title() -> str:
        return next(c["slice_name"] for c in client.charts() if c["uuid"] == top_films)

    _remove_all_assets(client)
    try:
        client.import_dashboard(earlier)
        assert title() == "Top films, as first imported"
        client.import_dashboard(current)  # what serve did before: the chart stays as it was
        assert title() == "Top films, as first imported"
        import_local_bundle(client, module_warehouse, tmp_path)
        assert title() == committed
        assert Counter(c["viz_type"] for c in client.charts()) == VIZ_TYPES
    finally:
        _remove_all_assets(client)
        import_local_bundle(client, module_warehouse, tmp_path)
