"""What a change to the models does against prod, as a Markdown report (for CI and reviewers).

:func:`build_plan_diff` asks SQLMesh for the plan of the working tree's models
against ``prod`` without applying it, and reports:

* SQLMesh's summary of differences: models added, removed, **directly modified**
  (with the change category SQLMesh gave them: breaking, non-breaking, ...) and
  **indirectly modified** (downstream of a direct change), with the text diff of
  each direct change;
* the models that would need a backfill, and which intervals;
* for every changed ``gold`` model, a ``table_diff`` of prod against the change:
  the change is built into a throwaway dev environment (``plan_diff_ci``) on the
  local DuckDB gateway, compared with prod (row counts, matches, schema changes,
  a sample of differing rows), then the environment is invalidated and its views
  dropped at once (its physical tables go with the janitor, after their TTL).

Prod itself is never changed. The run holds the pipeline lock (:mod:`dvdrental.warehouse.lock`),
so it never overlaps a ``dvdrental daily`` on the same warehouse.
"""

from __future__ import annotations

import typing as t
from datetime import UTC, datetime
from pathlib import Path

from dvdrental.reports.plan_diff.markdown import render_markdown
from dvdrental.reports.plan_diff.report import (
    DEFAULT_PATH,
    Backfill,
    ModelChange,
    PlanDiffReport,
)
from dvdrental.reports.plan_diff.table_diff import table_diffs
from dvdrental.warehouse.context import PROD, open_context
from dvdrental.warehouse.lock import pipeline_lock
from foundation.errors import TransformError

if t.TYPE_CHECKING:
    from sqlmesh import Context


def write_plan_diff(
    path: Path | None = None,
    gateway: str | None = None,
    paths: t.Sequence[str | Path] | None = None,
    table_diff: bool = True,
) -> tuple[Path, PlanDiffReport]:
    """Build the report and write it as Markdown (default ``artifacts/plan-diff.md``)."""
    report = build_plan_diff(gateway=gateway, paths=paths, table_diff=table_diff)
    path = Path(path) if path else DEFAULT_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report.markdown, encoding="utf-8")
    return path, report


def build_plan_diff(
    gateway: str | None = None,
    paths: t.Sequence[str | Path] | None = None,
    table_diff: bool = True,
) -> PlanDiffReport:
    """The plan of the working tree against prod, read but not applied; see the module doc."""
    with pipeline_lock(purpose="dvdrental plan-diff"):
        # Released on exit: the warehouse file is free again for readers in this process.
        with open_context(gateway, [str(p) for p in paths] if paths else None) as ctx:
            return _build(ctx, table_diff)


def _build(ctx: Context, table_diff: bool) -> PlanDiffReport:
    report = PlanDiffReport(prod_exists=ctx.state_reader.get_environment(PROD) is not None)
    report.gateway = ctx.selected_gateway
    if not report.prod_exists:
        report.notes.append(
            "There is no prod environment on this gateway yet, so there is nothing to compare with: "
            "build prod first (`dvdrental daily`, or `sqlmesh plan`)."
        )
        report.markdown = render_markdown(report)
        return report
    try:
        plan = ctx.plan_builder(PROD, skip_tests=True, skip_linter=True).build()
    except Exception as error:
        raise TransformError(f"SQLMesh could not plan the working tree against prod: {error}") from error
    _read_plan(ctx, plan, report)
    gold_changes = [
        c.name
        for c in report.changes
        if c.kind in ("directly modified", "indirectly modified") and c.name.startswith("gold.")
    ]
    if table_diff and gold_changes:
        if ctx.engine_adapter.dialect != "duckdb":
            report.notes.append(
                f"No table diff: it runs on the local DuckDB gateway only (this is `{report.gateway}`). "
                "Pull requests against Databricks get theirs from SQLMesh's CI/CD bot."
            )
        else:
            table_diffs(ctx, gold_changes, report)
    report.markdown = render_markdown(report)
    return report


def _display(snapshot: t.Any) -> str:
    return snapshot.node.name if hasattr(snapshot, "node") else snapshot.name


def _forward_only(snapshot: t.Any) -> bool:
    return bool(getattr(snapshot, "is_forward_only", False))


def _category(snapshot: t.Any) -> str:
    category = getattr(snapshot, "change_category", None)
    if category is None:
        return "uncategorized"
    return category.name.lower().replace("_", " ").replace("non breaking", "non-breaking")


def _read_plan(ctx: Context, plan: t.Any, report: PlanDiffReport) -> None:
    diff = plan.context_diff
    snapshots = plan.snapshots
    names = {sid: _display(snapshot) for sid, snapshot in snapshots.items()}

    for sid in sorted(diff.added, key=lambda s: s.name):
        if sid in snapshots:
            report.changes.append(ModelChange(names[sid], "added", _category(snapshots[sid])))
    for _, info in sorted(diff.removed_snapshots.items(), key=lambda item: item[0].name):
        report.changes.append(
            ModelChange(info.node_name if hasattr(info, "node_name") else info.name, "removed", "breaking")
        )
    for sid in sorted(plan.directly_modified, key=lambda s: s.name):
        name = names.get(sid, sid.name)
        snapshot = snapshots.get(sid)
        report.changes.append(
            ModelChange(name, "directly modified", _category(snapshot), forward_only=_forward_only(snapshot))
        )
        try:
            report.text_diffs[name] = diff.text_diff(sid.name)
        except Exception:  # the diff is a nicety; the summary stands without it
            pass
    below: dict[t.Any, list[str]] = {}
    for direct, indirect_ids in plan.indirectly_modified.items():
        for sid in indirect_ids:
            below.setdefault(sid, []).append(names.get(direct, direct.name))
    for sid in sorted(below, key=lambda s: s.name):
        report.changes.append(
            ModelChange(
                names.get(sid, sid.name),
                "indirectly modified",
                _category(snapshots.get(sid)),
                tuple(sorted(set(below[sid]))),
                forward_only=_forward_only(snapshots.get(sid)),
            )
        )
    for sid in sorted(getattr(plan, "metadata_updated", set()), key=lambda s: s.name):
        name = names.get(sid, sid.name)
        if name not in {c.name for c in report.changes}:
            report.changes.append(ModelChange(name, "metadata only", "metadata"))

    for missing in plan.missing_intervals:
        if not missing.intervals:
            continue
        snapshot = snapshots.get(missing.snapshot_id)
        name = _display(snapshot) if snapshot else missing.snapshot_id.name
        start = min(i[0] for i in missing.intervals)
        end = max(i[1] for i in missing.intervals)
        full = bool(snapshot is not None and getattr(snapshot, "is_full", False))
        report.backfills.append(Backfill(name, len(missing.intervals), _ts(start), _ts(end), full))
    report.backfills.sort(key=lambda b: b.name)


def _ts(value: int) -> str:
    return datetime.fromtimestamp(value / 1000, tz=UTC).strftime("%Y-%m-%d")
