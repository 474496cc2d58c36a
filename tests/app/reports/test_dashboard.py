"""The dashboard, looked at the way a person does: opened from disk in headless Chromium.

A warehouse built from the sample (bronze load, prod plan; the session's shared build, copied),
`write_dashboard` writes the
HTML, and the browser must show five charts with bars (one bar per answer row, the same
rows `dvdrental answers` prints), the freshness line and the row counts per layer, with
no console error and no request to anywhere (it must open offline).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dvdrental.reports.answers import QUESTIONS, compute_answers
from dvdrental.reports.dashboard import WarehouseFacts, render_dashboard, write_dashboard
from tests.support.browser import open_browser, require_browser, screenshot
from tests.support.warehouses import copy_warehouse

pytestmark = pytest.mark.browser


@pytest.fixture
def built_warehouse(warehouse: Path, sample_warehouse: Path) -> Path:  # noqa: F811
    """A private copy of the session's sample build; DVD_WAREHOUSE_PATH points at it."""
    return copy_warehouse(sample_warehouse, warehouse)


def test_dashboard_renders_offline_in_chromium(built_warehouse: Path, tmp_path: Path) -> None:
    require_browser()
    path = write_dashboard(tmp_path / "dashboard.html")
    html = path.read_text()
    # Self-contained: nothing is fetched from anywhere (the SVG namespace is an identifier, not a fetch).
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<script" not in html and "@import" not in html and "url(" not in html

    answers = compute_answers()
    requests: list[str] = []
    with open_browser() as (page, log):
        page.on("request", lambda request: requests.append(request.url))
        page.goto(path.as_uri())
        page.wait_for_load_state("load")

        charts = page.locator("section.answer")
        assert charts.count() == len(QUESTIONS) == 5
        for answer in answers:
            section = page.locator(f'section.answer[data-question="{answer.question.key}"]')
            assert section.locator("h2").inner_text().endswith(answer.question.title)
            svg = section.locator("svg.chart")
            assert svg.count() == 1 and svg.is_visible()
            bars = svg.locator("rect.bar")
            assert bars.count() == len(answer.rows) > 0
            box = bars.first.bounding_box()
            assert box is not None and box["width"] > 10 and box["height"] > 5, "bars must be drawn, not empty"
            # The chart shows the answer's rows in the answer's order.
            first_label = str(answer.rows[0][1 if answer.question.key == "rentals_by_weekday" else 0])
            assert first_label in (svg.locator("text").first.text_content() or "")
            assert section.locator("table tbody tr").count() == len(answer.rows)

        freshness = page.locator("#freshness").inner_text()
        assert "data as of" in freshness and "_airbyte_extracted_at" in freshness
        counts = page.locator("#row-counts").inner_text()
        for table in ("bronze.raw_dvd_rental", "silver.dvd_rental", "gold.report_rentals"):
            assert table in counts
        assert "16,044" in counts

        shot = screenshot(page, "dashboard")
        assert log.problems == [], log.problems
    assert all(url.startswith("file://") for url in requests), requests
    assert shot.stat().st_size > 10_000


@pytest.mark.parametrize(
    ("age", "red"),
    [(timedelta(hours=25, minutes=59), False), (timedelta(hours=26, minutes=1), True), (timedelta(days=3), True)],
    ids=["25h59", "26h01", "3 days"],
)
def test_the_freshness_line_turns_red_after_26_hours(age: timedelta, red: bool, tmp_path: Path) -> None:
    """README: bronze older than 26 h (a missed daily run plus slack) is stale; the dashboard says so in red.
    The page is rendered at a fixed moment (an injected clock) and looked at in Chromium: the colour a
    reader sees, not a class name."""
    require_browser()
    now = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
    facts = WarehouseFacts(newest_extract=now - age, counts=())
    path = tmp_path / "dashboard.html"
    path.write_text(render_dashboard([], facts, now=now), encoding="utf-8")
    with open_browser() as (page, log):
        page.goto(path.as_uri())
        line = page.locator("#freshness")
        assert "data as of" in line.inner_text()
        colour = line.evaluate("element => getComputedStyle(element).color")
        assert (colour == "rgb(180, 35, 24)") is red, colour  # #b42318
        assert log.problems == [], log.problems
