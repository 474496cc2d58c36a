"""The application's errors: subclasses of the one hierarchy rooted at :class:`ingest.errors.PipelineError`.

The CLI catches every :class:`PipelineError`, prints ``error: <message>`` and exits with its
``exit_code`` (README, "Exit codes"). Ingest errors live in :mod:`ingest.errors`; these two
belong to what runs after bronze.
"""

from __future__ import annotations

from ingest.errors import PipelineError


class LockHeldError(PipelineError):
    """Another run holds the pipeline lock; this run did nothing."""

    exit_code = 75  # EX_TEMPFAIL: try again later


class TransformError(PipelineError):
    """SQLMesh plan/run failed or an audit blocked it; prod views are unchanged."""

    exit_code = 6

    def __init__(self, message: str, failed_audits: int = 0) -> None:
        super().__init__(message)
        self.failed_audits = failed_audits  # blocking audits that failed, for run summaries
