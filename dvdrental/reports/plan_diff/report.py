"""The plan diff's report: what changed, what needs a backfill, how the data differs.

Plain data, filled by :mod:`.plan` and :mod:`.table_diff` and rendered by :mod:`.markdown`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from foundation.paths import ARTIFACTS_DIR

DEFAULT_PATH = ARTIFACTS_DIR / "plan-diff.md"
DIFF_ENV = "plan_diff_ci"
SAMPLE_ROWS = 10
# Decimal places at which table_diff compares numbers: the scale of the widest measure the models
# declare (fact_rental_monthly.avg_duration_days_returned, DECIMAL(10, 6)); SQLMesh's default, 3,
# rounds 4.8375 and 4.8374999999999995 apart.
DIFF_DECIMALS = 6
NO_CHANGES = "No changes: the models in this working tree match prod."


@dataclass(frozen=True)
class ModelChange:
    name: str
    kind: str  # added | removed | directly modified | indirectly modified | metadata only
    category: str  # SQLMesh's change category, e.g. "breaking", "non-breaking", "indirect breaking"
    upstream: tuple[str, ...] = ()  # for indirect changes: the direct changes it sits below
    # Forward-only (e.g. SCD type 2 kinds, by SQLMesh's default): prod's table is kept and the change
    # applies to the intervals processed after it is deployed; nothing is rebuilt, whatever the category.
    forward_only: bool = False

    @property
    def why_no_table_diff(self) -> str:
        """Why prod and the change share one physical table, in the words the summary table uses."""
        if self.forward_only:
            return (
                f"{self.category}, but forward-only: prod's table is kept (never rebuilt) and the change "
                "applies to the intervals after deploying"
            )
        return f"{self.category}: the change reuses prod's table"


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

    def change_of(self, name: str) -> ModelChange | None:
        return next((change for change in self.changes if change.name == name), None)
