"""One exception hierarchy for the whole pipeline, and the exit codes it maps to.

Every error a user can act on is a :class:`PipelineError`. The CLI catches it,
prints ``error: <message>`` (one line, no stack trace) and exits with the
error's ``exit_code``. Anything else is a bug and keeps its traceback.

Exit codes are part of the public interface (README, "Exit codes"): a cron
wrapper or CI job may branch on them, so never renumber one. The codes every room
shares are defined here; a room with errors of its own subclasses these in its
``errors.py`` (:mod:`ingest.airbyte.errors`: 7-10; :mod:`dvdrental.superset.errors`).
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base class: an error with a message a user can act on."""

    exit_code: int = 1


class ConfigError(PipelineError):
    """A setting is missing or invalid. The message names the variable to set."""

    exit_code = 2


class MissingSettingError(ConfigError):
    """A required environment variable is not set."""

    def __init__(self, variable: str, purpose: str) -> None:
        self.variable = variable
        super().__init__(f"{variable} is not set: {purpose}. Set it in the environment or in .env.")


class SourceError(PipelineError):
    """The PostgreSQL source cannot be reached, refuses us, or lacks a table."""

    exit_code = 3


class SchemaDriftError(SourceError):
    """A column the pipeline declares (external_models.yaml) is gone from the source table.

    Raised by the loader before bronze is touched, so the previous generation stays.
    """


class SourceServerError(SourceError):
    """The project's own local PostgreSQL server cannot be set up or started."""


class DumpNotFoundError(ConfigError):
    """``DVDRENTAL_DUMP`` is not a pg_restore archive, or it is unset and ``../shared/data/dvdrental.tar`` is missing.

    A setting to fix (exit 2), checked before any server is started.
    """


class WarehouseError(PipelineError):
    """The local warehouse (DuckDB file) cannot be opened or written."""

    exit_code = 4


class LoadError(PipelineError):
    """A bronze load failed part way; the previous bronze generation is intact."""

    exit_code = 5


class TransformError(PipelineError):
    """SQLMesh plan/run failed or an audit blocked it; prod views are unchanged."""

    exit_code = 6

    def __init__(self, message: str, failed_audits: int = 0) -> None:
        super().__init__(message)
        self.failed_audits = failed_audits  # blocking audits that failed, for run summaries


class BrokenLoadError(TransformError):
    """The broken-load guard refused a load (a table empty, or losing more keys than it may, or values
    Airbyte nulled on a key or measure column): no staging table was written, silver and gold keep
    the previous run. The message names each table, its live and bronze key counts, and how to
    accept a real mass deletion for one run."""

    exit_code = 12


class LockHeldError(PipelineError):
    """Another run holds the pipeline lock; this run did nothing."""

    exit_code = 75  # EX_TEMPFAIL: try again later


def first_line(error: BaseException) -> str:
    """The first line of an error's text (or its type's name): what a one-line message quotes."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
