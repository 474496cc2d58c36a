"""What a change to the models does against prod, as a Markdown report (for CI and reviewers).

:func:`write_plan_diff` asks SQLMesh for the plan of the working tree's models against ``prod``
without applying it (:mod:`.plan`), adds a table diff of every changed gold model
(:mod:`.table_diff`) and writes the report (:mod:`.report`) as Markdown (:mod:`.markdown`).
:func:`write_plan_diff_against_ref` is what CI runs: prod built from a git ref first
(:mod:`.base_ref`).
"""

from dvdrental.reports.plan_diff.base_ref import BASE_FILES, write_plan_diff_against_ref
from dvdrental.reports.plan_diff.plan import build_plan_diff, write_plan_diff
from dvdrental.reports.plan_diff.report import DIFF_ENV, NO_CHANGES, PlanDiffReport

__all__ = [
    "BASE_FILES",
    "DIFF_ENV",
    "NO_CHANGES",
    "PlanDiffReport",
    "build_plan_diff",
    "write_plan_diff",
    "write_plan_diff_against_ref",
]
