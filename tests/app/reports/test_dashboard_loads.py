"""The dashboard's freshness line carries the broken-load guard's word (issue 21): refused tables in
red, and the rows with values Airbyte changed per table (``_airbyte_meta``), as read from
``staging.bronze_loads``. Rendered from hand-made facts: no warehouse, no browser."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from dvdrental.reports.dashboard import WarehouseFacts, render_dashboard

NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)


def _loads_span(html: str) -> str:
    found = re.search(r'<span id="loads">(.*?)</span>(?= &middot;)', html)
    assert found, html[:2000]
    return found.group(1)


def test_changed_values_and_refused_loads_are_on_the_freshness_line() -> None:
    facts = WarehouseFacts(
        NOW,
        (),
        (
            ("film", 2, "ok"),
            ("payment", 1, "refused: Airbyte changed 1 rows on a key or measure column (_airbyte_meta)"),
            ("rental", 0, "ok"),
        ),
    )
    span = _loads_span(render_dashboard([], facts, now=NOW))
    assert '<span class="stale">last load refused: payment</span>' in span
    assert "<strong>film 2, payment 1</strong>" in span and "rental" not in span


def test_a_clean_load_says_none() -> None:
    facts = WarehouseFacts(NOW, (), (("film", 0, "ok"), ("rental", 0, "first load")))
    span = _loads_span(render_dashboard([], facts, now=NOW))
    assert "none" in span and "refused" not in span
