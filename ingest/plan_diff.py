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

Prod itself is never changed. The run holds the pipeline lock (:mod:`ingest.lock`),
so it never overlaps a ``dvdrental daily`` on the same warehouse.
"""

from __future__ import annotations

import logging
import typing as t
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ingest.errors import TransformError
from ingest.lock import pipeline_lock
from ingest.paths import ARTIFACTS_DIR

if t.TYPE_CHECKING:
    from sqlmesh import Context

logger = logging.getLogger(__name__)

DEFAULT_PATH = ARTIFACTS_DIR / "plan-diff.md"
DIFF_ENV = "plan_diff_ci"
SAMPLE_ROWS = 10
NO_CHANGES = "No changes: the models in this working tree match prod."


@dataclass(frozen=True)
class ModelChange:
    name: str
    kind: str  # added | removed | directly modified | indirectly modified | metadata only
    category: str  # SQLMesh's change category, e.g. "breaking", "non-breaking", "indirect breaking"
    upstream: tuple[str, ...] = ()  # for indirect changes: the direct changes it sits below


@dataclass(frozen=True)
class Backfill:
    name: str
    intervals: int
    start: str
    end: str
    full_refresh: bool = False  # kind FULL: one rebuild, whatever the interval count


@dataclass(frozen=True)
class TableDiffSummary:
    model: str
    source_rows: int
    target_rows: int
    joined_rows: int
    full_match_rows: int
    source_only_rows: int
    target_only_rows: int
    schema_added: tuple[str, ...]
    schema_removed: tuple[str, ...]
    schema_modified: tuple[str, ...]
    sample_columns: tuple[str, ...]
    sample_rows: tuple[tuple, ...]


@dataclass
class PlanDiffReport:
    prod_exists: bool
    changes: list[ModelChange] = field(default_factory=list)
    text_diffs: dict[str, str] = field(default_factory=dict)
    backfills: list[Backfill] = field(default_factory=list)
    table_diffs: list[TableDiffSummary] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    gateway: str = "local"
    markdown: str = ""

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def named(self, kind: str) -> list[str]:
        return [change.name for change in self.changes if change.kind == kind]


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
    from ingest.transform import open_context

    with pipeline_lock(purpose="dvdrental plan-diff"):
        # Released on exit: the warehouse file is free again for readers in this process.
        with open_context(gateway, [str(p) for p in paths] if paths else None) as ctx:
            return _build(ctx, table_diff)


def _build(ctx: "Context", table_diff: bool) -> PlanDiffReport:
    from ingest.transform import PROD

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
            _table_diffs(ctx, gold_changes, report)
    report.markdown = render_markdown(report)
    return report


def _display(snapshot: t.Any) -> str:
    return snapshot.node.name if hasattr(snapshot, "node") else snapshot.name


def _category(snapshot: t.Any) -> str:
    category = getattr(snapshot, "change_category", None)
    if category is None:
        return "uncategorized"
    return category.name.lower().replace("_", " ").replace("non breaking", "non-breaking")


def _read_plan(ctx: "Context", plan: t.Any, report: PlanDiffReport) -> None:
    diff = plan.context_diff
    snapshots = plan.snapshots
    names = {sid: _display(snapshot) for sid, snapshot in snapshots.items()}

    for sid in sorted(diff.added, key=lambda s: s.name):
        if sid in snapshots:
            report.changes.append(ModelChange(names[sid], "added", _category(snapshots[sid])))
    for sid, info in sorted(diff.removed_snapshots.items(), key=lambda item: item[0].name):
        report.changes.append(ModelChange(info.node_name if hasattr(info, "node_name") else info.name, "removed", "breaking"))
    for sid in sorted(plan.directly_modified, key=lambda s: s.name):
        name = names.get(sid, sid.name)
        report.changes.append(ModelChange(name, "directly modified", _category(snapshots.get(sid))))
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


def _table_diffs(ctx: "Context", models: list[str], report: PlanDiffReport) -> None:
    """Build the change in a throwaway dev environment, diff each gold model against prod, drop it."""
    try:
        ctx.plan(DIFF_ENV, auto_apply=True, no_prompts=True, skip_tests=True, skip_linter=True)
    except Exception as error:
        ctx.invalidate_environment(DIFF_ENV, sync=True)
        raise TransformError(f"Building the change into the '{DIFF_ENV}' environment failed: {error}") from error
    try:
        for model in models:
            try:
                with _quiet_sql_log():
                    diffs = ctx.table_diff(
                        source="prod",
                        target=DIFF_ENV,
                        select_models=[model],
                        limit=SAMPLE_ROWS,
                        show=False,
                        warn_grain_check=True,
                        skip_grain_check=False,
                    )
                    summary = [_summarize(model, diff) for diff in diffs]
            except Exception as error:
                report.notes.append(f"table_diff of {model} failed: {str(error).strip().splitlines()[0]}")
                continue
            if not diffs:
                report.notes.append(
                    f"{model}: same physical table in prod and in the change (a non-breaking change reuses it): "
                    "no table diff."
                )
            report.table_diffs.extend(summary)
    finally:
        try:
            ctx.invalidate_environment(DIFF_ENV, sync=True)
        except Exception as error:  # the report is still right; say what was left behind
            report.notes.append(f"Could not drop the '{DIFF_ENV}' environment: {error}")


@contextmanager
def _quiet_sql_log() -> t.Iterator[None]:
    """table_diff logs every statement it runs at WARNING; keep that out of the CI output."""
    sql_logger = logging.getLogger("sqlmesh.core.engine_adapter.base")
    previous = sql_logger.level
    sql_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        sql_logger.setLevel(previous)


def _summarize(model: str, diff: t.Any) -> TableDiffSummary:
    schema = diff.schema_diff()
    rows = diff.row_diff()
    columns, values = _differing_sample(diff, rows.sample)
    return TableDiffSummary(
        model=model,
        source_rows=int(rows.source_count),
        target_rows=int(rows.target_count),
        joined_rows=int(rows.join_count),
        full_match_rows=int(rows.full_match_count),
        source_only_rows=int(rows.s_only_count),
        target_only_rows=int(rows.t_only_count),
        schema_added=tuple(f"{name} {dtype.sql()}" for name, dtype in schema.added),
        schema_removed=tuple(f"{name} {dtype.sql()}" for name, dtype in schema.removed),
        schema_modified=tuple(f"{name}: {a.sql()} -> {b.sql()}" for name, (a, b) in schema.modified.items()),
        sample_columns=columns,
        sample_rows=values,
    )


def _differing_sample(diff: t.Any, sample: t.Any) -> tuple[tuple[str, ...], tuple[tuple, ...]]:
    """The sample narrowed to the grain and the columns that differ in it (prod ``s__``, change ``t__``)."""
    if sample is None or len(sample) == 0:
        return (), ()
    sample = sample.head(SAMPLE_ROWS)
    try:
        keys = [str(k) for k in diff.key_columns[2]]
    except Exception:
        keys = []
    keep: list[str] = []
    for column in sample.columns:
        column = str(column)
        if not column.startswith("s__"):
            continue
        name = column[3:]
        other = f"t__{name}"
        if other not in sample.columns:
            continue
        differs = any(
            not (a == b or (a != a and b != b))  # NaN-safe equality
            for a, b in zip(sample[column].tolist(), sample[other].tolist())
        )
        if name in keys and not differs:
            keep.insert(0, column)  # the grain, once
        elif differs:
            keep += [column, other]
    keep = keep or [str(c) for c in sample.columns]
    return tuple(keep), tuple(tuple(row) for row in sample[keep].itertuples(index=False))


# --- CI: prod from a git ref ---------------------------------------------------------------------

# What SQLMesh reads of a project: the linter (config.yaml names its rules) and the unit tests
# (its nomissingunittest rule looks for them) included, since every plan lints first.
BASE_FILES = ("models", "macros", "audits", "linter", "tests", "config.yaml", "external_models.yaml")


def write_plan_diff_against_ref(
    ref: str, path: Path | None = None, scratch: Path | None = None, via: str | None = None
) -> tuple[Path, PlanDiffReport]:
    """What CI runs: build ``ref``'s models as prod on a scratch warehouse, then diff the working tree.

    The scratch warehouse gets its bronze from the configured source (``dvdrental ingest``'s
    way); the real warehouse is never opened. ``scratch`` keeps the files (default: a temp dir).
    """
    import os
    import subprocess
    import tempfile

    from ingest.commands.load import run_ingest
    from ingest.paths import PROJECT_ROOT, WAREHOUSE_ENV
    from ingest.transform import open_context, plan_prod

    owned = scratch is None
    scratch = Path(scratch or tempfile.mkdtemp(prefix="dvd-plan-diff-"))
    base = scratch / "base"
    base.mkdir(parents=True, exist_ok=True)
    present = [
        name
        for name in BASE_FILES
        if subprocess.run(
            ["git", "cat-file", "-e", f"{ref}:{name}"], cwd=PROJECT_ROOT, capture_output=True
        ).returncode == 0
    ]
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref, "--", *present], cwd=PROJECT_ROOT, capture_output=True
    )
    if archive.returncode != 0:
        raise TransformError(f"Cannot read the models at git ref {ref!r}: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", str(base)], input=archive.stdout, check=True)

    saved = os.environ.get(WAREHOUSE_ENV)
    os.environ[WAREHOUSE_ENV] = str(scratch / "warehouse" / "dvdrental.duckdb")
    try:
        print(f"plan-diff: building prod from {ref} on a scratch warehouse ({scratch})", flush=True)
        run_ingest(via or "direct", progress=False)
        with open_context(paths=[str(base)]) as ctx:
            plan_prod(ctx=ctx, skip_tests=True)  # the ref was unit-tested when it was merged
        return write_plan_diff(path)
    finally:
        if saved is None:
            os.environ.pop(WAREHOUSE_ENV, None)
        else:
            os.environ[WAREHOUSE_ENV] = saved
        if owned:
            import shutil

            shutil.rmtree(scratch, ignore_errors=True)


# --- Markdown ----------------------------------------------------------------------------------


def render_markdown(report: PlanDiffReport, now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
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

    counts = {kind: len(report.named(kind)) for kind in ("directly modified", "indirectly modified", "added", "removed")}
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
            f"| `{change.name}` | {change.kind} | {change.category} | {', '.join(f'`{u}`' for u in change.upstream)} |"
        )
    out.append("")

    if report.text_diffs:
        out += ["### Directly modified: the change", ""]
        for name, text in report.text_diffs.items():
            out += [f"<details><summary><code>{name}</code></summary>", "", "```diff", _tidy_diff(text), "```", "", "</details>", ""]

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
        out += [f"## Data: `prod` vs the change (table_diff, environment `{DIFF_ENV}`)", ""]
        for d in report.table_diffs:
            out += [
                f"### `{d.model}`",
                "",
                "| rows in prod | rows with the change | joined on the grain | fully matching | only in prod | only with the change |",
                "|---:|---:|---:|---:|---:|---:|",
                f"| {d.source_rows:,} | {d.target_rows:,} | {d.joined_rows:,} | {d.full_match_rows:,} | "
                f"{d.source_only_rows:,} | {d.target_only_rows:,} |",
                "",
            ]
            for label, items in (("added columns", d.schema_added), ("removed columns", d.schema_removed), ("changed types", d.schema_modified)):
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


def _ts(value: int) -> str:
    return datetime.fromtimestamp(value / 1000, tz=timezone.utc).strftime("%Y-%m-%d")
