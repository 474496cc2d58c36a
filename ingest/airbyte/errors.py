"""Errors of the Airbyte ingest path, each with its own exit code.

They subclass the project's :mod:`foundation.errors` hierarchy so the CLI prints
them as one ``error: ...`` line. The exit codes are public (docs/airbyte.md):
a scheduler can tell "the sync failed" (8) from "we gave up waiting" (9) from
"Airbyte is unreachable" (7) without parsing messages. Never renumber one.
"""

from __future__ import annotations

from foundation.errors import ConfigError, PipelineError
from ingest.airbyte.problems import Problem


class AirbyteError(PipelineError):
    """The Airbyte API could not be used: unreachable, retries exhausted, or an
    answer we cannot interpret. The sync's outcome is unknown or it never started."""

    exit_code = 7


class AirbyteAuthError(AirbyteError, ConfigError):
    """Airbyte refused our credentials (HTTP 401/403 or a failed token request).

    Also a :class:`ConfigError` (exit 2): the fix is a setting, not a retry.
    """

    exit_code = 2


class AirbyteConnectionNotFound(AirbyteError, ConfigError):
    """``GET /connections/{id}`` answered 404: the id is wrong or the
    credentials' workspace cannot see it. A setting to fix, hence exit 2."""

    exit_code = 2


class AirbyteWorkspaceNotFound(AirbyteError, ConfigError):
    """Listing the workspace's sources, destinations or connections answered 404
    (``ResourceNotFoundProblem``): AIRBYTE_WORKSPACE_ID is wrong. A setting to fix, hence exit 2."""

    exit_code = 2


class AirbyteConfigurationRefused(AirbyteError, ConfigError):
    """Airbyte refused a source's or destination's configuration on create or update
    (422 ``unprocessable-entity``: the connector's spec rejects it). Nothing was written;
    the fix is the setting the message names, hence exit 2."""

    exit_code = 2


class AirbyteContractError(AirbyteError):
    """The Airbyte connection is not configured the way the SQLMesh models
    expect (streams, sync mode, prefix, destination namespace). Nothing ran."""

    exit_code = 10


class AirbyteJobFailed(AirbyteError):
    """The sync job ended ``failed`` or ``cancelled`` (by someone else).
    Bronze may be partly rewritten; do not run the transforms on it."""

    exit_code = 8

    def __init__(self, job_id: int, status: str, detail: str = "") -> None:
        self.job_id = job_id
        self.status = status
        message = f"Airbyte sync job {job_id} ended with status {status}"
        super().__init__(f"{message}: {detail}" if detail else f"{message}.")


class AirbyteTimeout(AirbyteError):
    """The job did not finish within ``AIRBYTE_TIMEOUT_SECONDS``; we asked
    Airbyte to cancel it (unless ``AIRBYTE_CANCEL_ON_TERMINATION=false``)."""

    exit_code = 9


class AirbyteInterrupted(AirbyteError):
    """Ctrl-C while waiting; the job was cancelled (same code as the CLI's
    own KeyboardInterrupt handling)."""

    exit_code = 130


class AirbyteTerminated(AirbyteInterrupted):
    """SIGTERM while waiting (e.g. a scheduler killing the run); the job was
    cancelled. 143 = 128 + SIGTERM, the conventional code for it."""

    exit_code = 143


class AirbyteRequestFailed(AirbyteError):
    """A call failed with an HTTP status or a network fault (internal detail:
    callers that care, like job creation, look at ``status_code``/``transient``)."""

    def __init__(
        self, message: str, *, status_code: int | None, transient: bool, problem: Problem | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.transient = transient
        self.problem = problem or Problem()
