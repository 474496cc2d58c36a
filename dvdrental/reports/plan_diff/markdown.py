"""The plan diff report as Markdown: what a reviewer reads in CI or on a pull request."""

from __future__ import annotations

import typing as t
from datetime import UTC, datetime

from dvdrental.reports.plan_diff.report import (
    DIFF_DECIMALS,
    DIFF_ENV,
    NO_CHANGES,
    SAMPLE_ROWS,
    PlanDiffReport,
)


def render_markdown(report: PlanDiffReport, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    out = [
        "# Plan diff against `prod`",
        "",
        f"Gateway `{report.gateway}`, {now.strftime('%Y-%m-%d %H:%M UTC')}. Nothing was applied to prod.",
        "",
    ]
    if not report.prod_exists:
        out += ["**No prod to compare with.**", ""] + [f"- {n}" for n in report.notes]
        return "\n".join(out) + "\n"
    if not report.has_changes:
        out += [f"**{NO_CHANGES}**", ""]
        return "\n".join(out) + "\n"

    counts = {
        kind: len(report.named(kind)) for kind in ("directly modified", "indirectly modified", "added", "removed")
    }
    out += [
        "## Summary of differences",
        "",
        ", ".join(f"{n} {kind}" for kind, n in counts.items() if n) + ".",
        "",
        "| model | change | category | because of |",
        "|---|---|---|---|",
    ]
    for change in report.changes:
        out.append(
            f"| `{change.name}` | {change.kind} | {change.category}{', forward-only' if change.forward_only else ''} "
            f"| {', '.join(f'`{u}`' for u in change.upstream)} |"
        )
    out.append("")

    if report.text_diffs:
        out += ["### Directly modified: the change", ""]
        for name, text in report.text_diffs.items():
            out += [
                f"<details><summary><code>{name}</code></summary>",
                "",
                "```diff",
                _tidy_diff(text),
                "```",
                "",
                "</details>",
                "",
            ]

    out += ["## Models needing backfill", ""]
    if report.backfills:
        out += ["| model | what | from | to |", "|---|---|---|---|"]
        out += [
            f"| `{b.name}` | {'full refresh' if b.full_refresh else f'{b.intervals} intervals'} | {b.start} | {b.end} |"
            for b in report.backfills
        ]
    else:
        out.append(
            "None: no data needs computing. Either the change needs none (non-breaking, metadata only) or "
            "its new model versions are already built (e.g. by an earlier plan-diff run), so deploying it "
            "to prod only swaps views."
        )
    out.append("")

    if report.table_diffs:
        out += [
            f"## Data: `prod` vs the change (table_diff, environment `{DIFF_ENV}`)",
            "",
            f"Numbers are compared at {DIFF_DECIMALS} decimal places.",
            "",
        ]
        for d in report.table_diffs:
            out += [
                f"### `{d.model}`",
                "",
                "| rows in prod | rows with the change | joined on the grain | fully matching | only in prod "
                "| only with the change |",
                "|---:|---:|---:|---:|---:|---:|",
                f"| {d.source_rows:,} | {d.target_rows:,} | {d.joined_rows:,} | {d.full_match_rows:,} | "
                f"{d.source_only_rows:,} | {d.target_only_rows:,} |",
                "",
            ]
            for label, items in (
                ("added columns", d.schema_added),
                ("removed columns", d.schema_removed),
                ("changed types", d.schema_modified),
            ):
                if items:
                    out.append(f"- {label}: " + ", ".join(f"`{i}`" for i in items))
            if d.sample_rows:
                out += ["", f"Sample of differing rows (up to {SAMPLE_ROWS}):", ""]
                out += _markdown_table(d.sample_columns, d.sample_rows)
            out.append("")
    if report.notes:
        out += ["## Notes", ""] + [f"- {n}" for n in report.notes] + [""]
    return "\n".join(out) + "\n"


def _tidy_diff(text: str) -> str:
    """SQLMesh's unified diff has a blank line after each header line; drop those."""
    lines: list[str] = []
    for line in text.strip("\n").splitlines():
        if not line.strip() and lines and lines[-1].startswith(("---", "+++", "@@")):
            continue
        lines.append(line.rstrip())
    return "\n".join(lines)


def _markdown_table(columns: t.Sequence[str], rows: t.Sequence[t.Sequence[t.Any]]) -> list[str]:
    def cell(value: t.Any) -> str:
        text = "" if value is None else str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines
