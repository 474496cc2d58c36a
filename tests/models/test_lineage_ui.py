"""`sqlmesh ui` on this project: lineage through its HTTP API, then seen in headless Chromium.

The UI is started the way a person starts it (``sqlmesh ui --host 127.0.0.1 --port N`` from
the project root, here on a scratch warehouse). Its API must trace ``gold.report_rentals``
back through silver to every bronze table, and its ``country`` column to
``bronze.raw_dvd_country.country``. Then the model's page is opened in Chromium: the lineage
graph must render (its model nodes visible), the UI must report no errors, and a screenshot
is saved under artifacts/screenshots/.

The UI loads a few optional assets from a CDN (pyodide, icons); offline those requests fail,
which is not an error of this project, so those console messages are tolerated — anything
else in the console fails the test.
"""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Iterator

import pytest

from ingest.tables import SOURCE_TABLES
from tests.support.browser import SCREENSHOTS_DIR, open_browser, require_browser, screenshot
from tests.support.editors import get_json as _get
from tests.support.editors import sqlmesh_ui

pytestmark = pytest.mark.browser


MODEL = "gold.report_rentals"


def _fqn(name: str) -> str:
    schema, table = name.split(".")
    return f'"dvdrental"."{schema}"."{table}"'


@pytest.fixture(scope="module")
def ui_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    scratch = tmp_path_factory.mktemp("ui-warehouse")
    env = dict(
        os.environ, DVD_WAREHOUSE_PATH=str(scratch / "dvdrental.duckdb"), SQLMESH__DISABLE_ANONYMIZED_ANALYTICS="true"
    )
    with sqlmesh_ui(env, scratch / "ui.log") as url:
        yield url


def test_model_lineage_reaches_every_bronze_table_through_silver_and_staging(ui_url: str) -> None:
    graph = _get(f"{ui_url}/api/lineage/{MODEL}")
    assert isinstance(graph, dict)
    root = _fqn(MODEL)
    assert root in graph

    # Walk upstream from the report; remember through which layers each bronze table was reached.
    reached_from: dict[str, set[str]] = {}
    queue, seen = deque([root]), {root}
    while queue:
        node = queue.popleft()
        for parent in graph.get(node, []):
            if '"bronze".' in parent:
                reached_from.setdefault(parent, set()).add(node)
            if parent not in seen:
                seen.add(parent)
                queue.append(parent)
    expected = {_fqn(table.bronze_fqn) for table in SOURCE_TABLES}
    assert set(reached_from) == expected
    # Bronze is only ever read by the checked staging tables, which only silver reads: gold never
    # skips the silver layer.
    for bronze, readers in reached_from.items():
        assert all('"staging".' in reader for reader in readers), (bronze, readers)
    for node in seen:
        if '"gold".' in node:
            assert not any('"staging".' in parent or '"bronze".' in parent for parent in graph[node]), node
    assert any('"silver".' in node for node in seen) and all(graph[b] == [] for b in expected)


def test_country_column_traces_to_bronze_country(ui_url: str) -> None:
    graph = _get(f"{ui_url}/api/lineage/{MODEL}/country")
    assert isinstance(graph, dict)
    path: list[tuple[str, str]] = []
    node, column = _fqn(MODEL), "country"
    for _ in range(20):
        path.append((node, column))
        entry = graph[node][column]
        upstream = [(model, col) for model, cols in entry["models"].items() for col in cols]
        if not upstream:
            break
        node, column = upstream[0]
        assert len(upstream) == 1, f"{path[-1]} has several sources: {upstream}"
    models = [model for model, _ in path]
    assert path[-1] == (_fqn("bronze.raw_dvd_country"), "country"), path
    assert _fqn("silver.dvd_country") in models and _fqn("staging.dvd_country") in models, path


_ALL_NODES_DRAWN = """n => {
  const nodes = [...document.querySelectorAll('.react-flow__node')];
  return nodes.length >= n && nodes.every(e => {
    const r = e.getBoundingClientRect(), s = getComputedStyle(e);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.opacity !== '0';
  });
}"""
_NODE_IDS = "() => [...document.querySelectorAll('.react-flow__node')].map(e => e.getAttribute('data-id') || '')"


def _wait_for_graph(page: object, timeout_ms: int = 60_000) -> None:
    """Until the graph has its nodes and has kept them for a second (it can re-render while loading)."""
    script = "n => document.querySelectorAll('.react-flow__node').length >= n"
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        page.wait_for_function(script, arg=20, timeout=timeout_ms)  # type: ignore[attr-defined]
        page.wait_for_timeout(1000)  # type: ignore[attr-defined]
        if page.evaluate(script, 20) or time.monotonic() > deadline:  # type: ignore[attr-defined]
            return


def test_lineage_view_renders_in_chromium(ui_url: str) -> None:
    require_browser()
    with open_browser(viewport=(1700, 2200)) as (page, log):
        failed_local: list[str] = []
        page.on(
            "response",
            lambda response: (
                failed_local.append(f"{response.status} {response.url}")
                if response.url.startswith(ui_url) and response.status >= 400
                else None
            ),
        )
        page.goto(f"{ui_url}/data-catalog/models/{urllib.parse.quote(MODEL)}")
        _wait_for_graph(page)
        page.click(".react-flow__controls-fitview")
        page.wait_for_timeout(1000)
        _wait_for_graph(page)  # the UI may lay the graph out again once its model list has loaded

        # Every node drawn (laid out, not hidden); read in one go, as the graph may re-render meanwhile.
        page.wait_for_function(_ALL_NODES_DRAWN, arg=20, timeout=60_000)
        ids = {urllib.parse.unquote(i) for i in page.evaluate(_NODE_IDS)}
        for name in (MODEL, "silver.dvd_rental", "silver.dvd_country", "bronze.raw_dvd_country", "gold.fact_rental"):
            assert _fqn(name) in ids, f"{name} is not a node of the lineage graph"
        # The node of the report is drawn big enough to read, with its name and its columns.
        report_node = page.locator(f'.react-flow__node[data-id="{urllib.parse.quote(_fqn(MODEL))}"]')
        report_node.wait_for(state="visible", timeout=30_000)
        box = report_node.bounding_box()
        assert box and box["width"] > 20 and box["height"] > 20, "graph nodes are drawn too small to see"
        assert "gold.report_rentals" in report_node.inner_text() and "rental_id" in report_node.inner_text()

        body = page.inner_text("body")
        assert "No Errors" in body, "the UI reports errors in the project"
        assert "Not Found" not in body

        SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
        pane = page.locator(".react-flow").first.bounding_box()
        assert pane and pane["height"] > 300
        page.screenshot(path=str(SCREENSHOTS_DIR / "lineage-graph.png"), clip=pane)
        full = screenshot(page, "lineage-ui")

        offline_noise = ("Failed to load resource: net::", "cdn.jsdelivr.net")
        problems = [p for p in log.problems if not any(n in p for n in offline_noise)]
        assert problems == [], problems
        assert failed_local == [], failed_local
    assert full.stat().st_size > 10_000
