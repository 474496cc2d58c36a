"""The dashboard: one self-contained HTML file with the five answers as charts.

``write_dashboard()`` writes ``artifacts/dashboard.html``: the five questions
(:data:`dvdrental.reports.answers.QUESTIONS`, answered by :func:`dvdrental.reports.answers.compute_answers`,
exactly what ``dvdrental answers`` prints) as horizontal bar charts with their
tables, how fresh the data is (the newest ``_airbyte_extracted_at`` in bronze)
and the row count of every bronze, silver and gold table.

It opens offline: the charts are SVG generated here, the styles are inline,
and there is no script, font or image from anywhere else.
"""

from __future__ import annotations

import html
import typing as t
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from dvdrental.reports.answers import Answer, answers_from
from dvdrental.warehouse.reader import WarehouseReader, open_reader
from foundation.paths import ARTIFACTS_DIR
from ingest.tables import BRONZE_SCHEMA, SOURCE_TABLES

DEFAULT_PATH = ARTIFACTS_DIR / "dashboard.html"
LAYERS = (BRONZE_SCHEMA, "silver", "gold")


@dataclass(frozen=True)
class TableCount:
    layer: str
    table: str
    rows: int


@dataclass(frozen=True)
class WarehouseFacts:
    newest_extract: datetime | None
    counts: tuple[TableCount, ...]
    # The broken-load guard's latest word per table (staging.bronze_loads): (table, rows with values
    # Airbyte changed, verdict); empty before the guard ever ran.
    loads: tuple[tuple[str, int, str], ...] = ()


def write_dashboard(path: Path | None = None, gateway: str | None = None) -> Path:
    """Answer the questions, read freshness and row counts, write the HTML; returns its path."""
    path = Path(path) if path else DEFAULT_PATH
    with open_reader(gateway) as reader:  # one reader for both, closed before the file is written
        answers = answers_from(reader)
        facts = read_warehouse_facts(reader)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_dashboard(answers, facts), encoding="utf-8")
    tmp.replace(path)
    return path


# --- reading the warehouse -------------------------------------------------------------------


def read_warehouse_facts(reader: WarehouseReader) -> WarehouseFacts:
    """Newest bronze extract and per-table row counts, read through ``reader``."""

    def value(sql: str) -> t.Any:
        return reader.fetch(sql)[1][0][0]

    present = {(layer, name) for layer in LAYERS for name in reader.tables(layer)}
    extracts = []
    for table in SOURCE_TABLES:
        if (BRONZE_SCHEMA, table.bronze_name) in present:
            newest = value(f"SELECT max(_airbyte_extracted_at) FROM {table.bronze_fqn}")
            if newest is not None:
                extracts.append(newest if newest.tzinfo else newest.replace(tzinfo=UTC))
    order = {layer: i for i, layer in enumerate(LAYERS)}
    counts = tuple(
        TableCount(layer, name, int(value(f"SELECT count(*) FROM {layer}.{name}")))
        for layer, name in sorted(present, key=lambda item: (order[item[0]], item[1]))
    )
    loads: tuple[tuple[str, int, str], ...] = ()
    if "bronze_loads" in reader.tables("staging"):
        rows = reader.fetch(
            "SELECT source_table, changed_rows, verdict FROM staging.bronze_loads ORDER BY source_table"
        )
        loads = tuple((str(table), int(changed or 0), str(verdict)) for table, changed, verdict in rows[1])
    return WarehouseFacts(max(extracts) if extracts else None, counts, loads)


# --- rendering ---------------------------------------------------------------------------------

_CSS = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#e4e7eb; --bar:#2f6fbd; --bg:#f7f9fb; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; \
color: var(--ink); background: var(--bg); }
header { padding: 20px 32px 8px; }
h1 { margin: 0 0 4px; font-size: 22px; }
.meta { color: var(--muted); }
.meta strong { color: var(--ink); }
.stale { color: #b42318; font-weight: 600; }
main { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 20px; \
padding: 16px 32px 32px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; }
h2 { font-size: 16px; margin: 0 0 10px; }
svg.chart { display: block; width: 100%; height: auto; }
svg.chart .bar { fill: var(--bar); }
svg.chart text { font-size: 12px; fill: var(--ink); }
svg.chart text.value { fill: var(--muted); }
details { margin-top: 8px; }
summary { cursor: pointer; color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin-top: 6px; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid var(--line); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
section.wide { grid-column: 1 / -1; }
"""


def render_dashboard(answers: t.Sequence[Answer], facts: WarehouseFacts, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    sections = [_answer_section(i, answer) for i, answer in enumerate(answers, start=1)]
    sections.append(_counts_section(facts.counts))
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>DVD rental: five answers</title>\n"
        f"<style>{_CSS}</style>\n</head>\n<body>\n"
        "<header>\n<h1>DVD rental: five answers</h1>\n"
        f'<p class="meta">{_freshness(facts.newest_extract, now)} &middot; {_loads(facts.loads)} &middot; '
        f"generated <strong>{_e(_iso(now))}</strong> from <code>gold.report_rentals</code> "
        "(the same questions as <code>dvdrental answers</code>)</p>\n</header>\n"
        "<main>\n" + "\n".join(sections) + "\n</main>\n</body>\n</html>\n"
    )


def _freshness(newest: datetime | None, now: datetime) -> str:
    if newest is None:
        return '<span class="stale">data freshness unknown: bronze has no extract time</span>'
    age_hours = (now - newest).total_seconds() / 3600
    age = f"{age_hours:.1f} h ago" if age_hours < 48 else f"{age_hours / 24:.1f} days ago"
    css = ' class="stale"' if age_hours > 26 else ""
    return (
        f'<span id="freshness"{css}>data as of <strong>{_e(_iso(newest))}</strong> '
        f"(newest <code>_airbyte_extracted_at</code>, {_e(age)})</span>"
    )


def _loads(loads: t.Sequence[tuple[str, int, str]]) -> str:
    """The last load as the broken-load guard judged it: refused tables in red, values Airbyte changed."""
    if not loads:
        return '<span id="loads">load checks: none yet</span>'
    refused = [table for table, _, verdict in loads if verdict.startswith("refused")]
    changed = [f"{table} {rows:,}" for table, rows, _ in loads if rows]
    parts = []
    if refused:
        parts.append(f'<span class="stale">last load refused: {_e(", ".join(refused))}</span>')
    parts.append(
        "rows with values Airbyte changed (<code>_airbyte_meta</code>): "
        + (f"<strong>{_e(', '.join(changed))}</strong>" if changed else "none")
    )
    return f'<span id="loads">{" ; ".join(parts)}</span>'


def _answer_section(number: int, answer: Answer) -> str:
    label_index, value_index = _chart_columns(answer)
    title = f"{number}. {answer.question.title}"
    if label_index is None or value_index is None or not answer.rows:
        chart = '<p class="meta">no rows</p>'
    else:
        points = [(_label(row[label_index]), _number(row[value_index])) for row in answer.rows]
        chart = bar_chart(points, value_name=answer.columns[value_index], title=title)
    return (
        f'<section class="answer" data-question="{_e(answer.question.key)}">\n<h2>{_e(title)}</h2>\n{chart}\n'
        f"<details open><summary>table</summary>\n{_table(answer.columns, answer.rows)}\n</details>\n</section>"
    )


def _chart_columns(answer: Answer) -> tuple[int | None, int | None]:
    """Label = the first text column; value = the first numeric column after it (else the first numeric)."""
    if not answer.rows:
        return None, None
    first = answer.rows[0]
    numeric = [i for i, v in enumerate(first) if _is_number(v)]
    text = [i for i, v in enumerate(first) if not _is_number(v)]
    label = text[0] if text else None
    if label is None or not numeric:
        return label, numeric[0] if numeric else None
    after = [i for i in numeric if i > label]
    return label, (after or numeric)[0]


def bar_chart(points: t.Sequence[tuple[str, float]], value_name: str, title: str = "") -> str:
    """A horizontal bar chart as inline SVG: one ``rect.bar`` per point, label left, value right."""
    bar_height, gap, label_width, bar_width, value_width = 20, 6, 210, 300, 70
    width = label_width + bar_width + value_width
    height = len(points) * (bar_height + gap) + gap
    top = max((value for _, value in points), default=0) or 1
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{_e(title)}">'
    ]
    for i, (label, value) in enumerate(points):
        y = gap + i * (bar_height + gap)
        length = max(1.0, bar_width * value / top) if value > 0 else 0.0
        shown = label if len(label) <= 30 else label[:29] + "\u2026"
        parts.append(
            f"<g><title>{_e(label)}: {_e(_fmt(value))} {_e(value_name)}</title>"
            f'<text x="{label_width - 8}" y="{y + bar_height * 0.7:.1f}" text-anchor="end">{_e(shown)}</text>'
            f'<rect class="bar" x="{label_width}" y="{y}" width="{length:.1f}" height="{bar_height}" rx="2"/>'
            f'<text class="value" x="{label_width + length + 6:.1f}" y="{y + bar_height * 0.7:.1f}">'
            f"{_e(_fmt(value))}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _counts_section(counts: t.Sequence[TableCount]) -> str:
    rows = [(c.layer, f"{c.layer}.{c.table}", c.rows) for c in counts]
    totals = {layer: sum(c.rows for c in counts if c.layer == layer) for layer in LAYERS}
    summary = ", ".join(
        f"{layer}: {sum(1 for c in counts if c.layer == layer)} tables, {totals[layer]:,} rows" for layer in LAYERS
    )
    return (
        '<section class="wide" id="row-counts">\n<h2>Rows per layer</h2>\n'
        f'<p class="meta">{_e(summary)}</p>\n'
        f"{_table(('layer', 'table', 'rows'), rows)}\n</section>"
    )


def _table(columns: t.Sequence[str], rows: t.Sequence[t.Sequence[t.Any]]) -> str:
    numeric = [bool(rows) and all(_is_number(row[i]) for row in rows) for i in range(len(columns))]
    head = "".join(f"<th{' class=num' if n else ''}>{_e(c)}</th>" for c, n in zip(columns, numeric, strict=True))
    body = "\n".join(
        "<tr>"
        + "".join(f"<td{' class=num' if n else ''}>{_e(_fmt(v))}</td>" for v, n in zip(row, numeric, strict=True))
        + "</tr>"
        for row in rows
    )
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def _is_number(value: t.Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _number(value: t.Any) -> float:
    return float(value) if _is_number(value) else 0.0


def _label(value: t.Any) -> str:
    return "" if value is None else str(value)


def _fmt(value: t.Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (float, Decimal)):
        number = float(value)
        return f"{number:,.0f}" if number.is_integer() and not isinstance(value, Decimal) else f"{number:,.2f}"
    if isinstance(value, datetime):
        return _iso(value)
    return str(value)


def _iso(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _e(text: t.Any) -> str:
    return html.escape(str(text), quote=True)
