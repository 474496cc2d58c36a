"""What SQLMesh did during a plan or run, observed through its documented console interface.

SQLMesh reports progress and failures to a :class:`sqlmesh.core.console.Console`; from Python the
default one is a :class:`~sqlmesh.core.console.NoopConsole`. :class:`PipelineConsole` is that
console plus a record (:class:`RunObservations`) of the models evaluated, the audits that passed
or failed and the errors of failed models, which SQLMesh logs but a ``run`` does not raise, and
it forwards the same events to :class:`~dvdrental.warehouse.progress.ModelProgress`, which prints
a line per model evaluated (on stderr) so that a long plan or run shows it is moving.
:func:`dvdrental.warehouse.context.context` installs a fresh one for every context it opens, so
this is the one place that observes SQLMesh.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from sqlmesh.core.console import NoopConsole

from dvdrental.warehouse.progress import ModelProgress

if t.TYPE_CHECKING:
    from sqlmesh.core.environment import EnvironmentNamingInfo
    from sqlmesh.core.snapshot import Snapshot, SnapshotTableInfo
    from sqlmesh.core.test import ModelTextTestResult
    from sqlmesh.utils.concurrency import NodeExecutionFailedError


@dataclass
class RunObservations:
    models_run: set[str] = field(default_factory=set)  # models evaluated (not audit-only passes)
    audits_passed: int = 0
    audits_failed: int = 0
    models_with_failed_audits: set[str] = field(default_factory=set)
    failures: list[BaseException] = field(default_factory=list)  # errors of failed models
    # "model: rule: message" for each linter error (SQLMesh raises only "Linter detected errors").
    lint_errors: list[str] = field(default_factory=list)
    # Every warning SQLMesh logged (e.g. "Janitor completed with failures: ..."), in order.
    warnings: list[str] = field(default_factory=list)


class PipelineConsole(NoopConsole):
    """SQLMesh's silent console that records what it is told (see the module doc)."""

    def __init__(self, progress: ModelProgress | None = None) -> None:
        super().__init__()
        self.observed = RunObservations()
        self.progress = progress or ModelProgress()
        self._naming: tuple["EnvironmentNamingInfo | None", str | None] = (None, None)

    def log_test_results(self, result: "ModelTextTestResult", target_dialect: str) -> None:
        failed = len(result.failures) + len(result.errors)
        self.progress.tests_ran(result.testsRun - failed, failed)

    def start_creation_progress(
        self, snapshots: "list[Snapshot]", environment_naming_info: "EnvironmentNamingInfo", default_catalog: str | None
    ) -> None:
        self.progress.creating(len(snapshots))

    def start_evaluation_progress(
        self,
        batched_intervals: "dict[Snapshot, t.Any]",
        environment_naming_info: "EnvironmentNamingInfo",
        default_catalog: str | None,
        audit_only: bool = False,
    ) -> None:
        self._naming = (environment_naming_info, default_catalog)
        self.progress.evaluation_started(sum(len(i) for i in batched_intervals.values()), audit_only)

    def start_snapshot_evaluation_progress(self, snapshot: "Snapshot", audit_only: bool = False) -> None:
        self.progress.model_started(self._display_name(snapshot))

    def stop_evaluation_progress(self, success: bool = True) -> None:
        self.progress.evaluation_stopped(success)

    def start_promotion_progress(
        self,
        snapshots: "list[SnapshotTableInfo]",
        environment_naming_info: "EnvironmentNamingInfo",
        default_catalog: str | None,
    ) -> None:
        self.progress.promoting(environment_naming_info.name, len(snapshots))

    def _display_name(self, snapshot: "Snapshot") -> str:
        """``schema.table`` as the environment shows it (``silver__dev.x`` in dev), without the catalog."""
        naming, catalog = self._naming
        if naming is None:
            return snapshot.name
        try:
            return snapshot.display_name(naming, catalog)
        except Exception:  # display only: never let a name break a run
            return snapshot.name

    def update_snapshot_evaluation_progress(
        self,
        snapshot: "Snapshot",
        interval: t.Any,
        batch_idx: int,
        duration_ms: int | None,
        num_audits_passed: int,
        num_audits_failed: int,
        audit_only: bool = False,
        execution_stats: t.Any = None,
        auto_restatement_triggers: t.Any = None,
    ) -> None:
        observed = self.observed
        self.progress.model_done(
            self._display_name(snapshot), None if duration_ms is None else duration_ms / 1000, num_audits_failed or 0
        )
        if not audit_only:
            observed.models_run.add(snapshot.name)
        observed.audits_passed += num_audits_passed or 0
        observed.audits_failed += num_audits_failed or 0
        if num_audits_failed:
            observed.models_with_failed_audits.add(snapshot.name)

    def log_failed_models(self, errors: "list[NodeExecutionFailedError[t.Any]]") -> None:
        self.observed.failures.extend(errors)

    def log_warning(self, short_message: str, long_message: str | None = None) -> None:
        super().log_warning(short_message, long_message)
        self.observed.warnings.append(long_message or short_message)

    def show_linter_violations(self, violations: list[t.Any], model: t.Any, is_error: bool = False) -> None:
        if is_error:
            self.observed.lint_errors.extend(f"{model.name}: {v.rule.name}: {v.violation_msg}" for v in violations)
