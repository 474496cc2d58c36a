"""What SQLMesh did during a plan or run, observed through its documented console interface.

SQLMesh reports progress and failures to a :class:`sqlmesh.core.console.Console`; from Python the
default one is a :class:`~sqlmesh.core.console.NoopConsole`. :class:`PipelineConsole` is that
console plus a record (:class:`RunObservations`) of the models evaluated, the audits that passed
or failed and the errors of failed models, which SQLMesh logs but a ``run`` does not raise.
:func:`dvdrental.warehouse.context.context` installs a fresh one for every context it opens, so
this is the one place that observes SQLMesh.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from sqlmesh.core.console import NoopConsole

if t.TYPE_CHECKING:
    from sqlmesh.core.snapshot import Snapshot
    from sqlmesh.utils.concurrency import NodeExecutionFailedError


@dataclass
class RunObservations:
    models_run: set[str] = field(default_factory=set)  # models evaluated (not audit-only passes)
    audits_passed: int = 0
    audits_failed: int = 0
    models_with_failed_audits: set[str] = field(default_factory=set)
    failures: list[BaseException] = field(default_factory=list)  # errors of failed models


class PipelineConsole(NoopConsole):
    """SQLMesh's silent console that records what it is told (see the module doc)."""

    def __init__(self) -> None:
        super().__init__()
        self.observed = RunObservations()

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
        if not audit_only:
            observed.models_run.add(snapshot.name)
        observed.audits_passed += num_audits_passed or 0
        observed.audits_failed += num_audits_failed or 0
        if num_audits_failed:
            observed.models_with_failed_audits.add(snapshot.name)

    def log_failed_models(self, errors: "list[NodeExecutionFailedError[t.Any]]") -> None:
        self.observed.failures.extend(errors)
