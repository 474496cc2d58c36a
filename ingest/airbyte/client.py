"""A typed client for the Airbyte API calls the ingest needs: one method per endpoint.

Each method names its request, hands the SDK operation to the transport
(:mod:`.transport`: timeouts, retries, authentication) and returns a small typed
answer. What to call when (start or attach, wait, cancel) is :mod:`.sync`.
The design follows dagster-airbyte's ``AirbyteClient`` (named request timeout,
retries, poll interval and timeout, cancel on termination).
"""

from __future__ import annotations

import logging
import time
import typing as t
from dataclasses import dataclass

from airbyte_api import api, models

from ingest.airbyte.errors import AirbyteAuthError, AirbyteConnectionNotFound, AirbyteError
from ingest.airbyte.jobs import ACTIVE_STATUSES, JobSnapshot
from ingest.airbyte.settings import AirbyteSettings
from ingest.airbyte.transport import AirbyteTransport, json_body

logger = logging.getLogger(__name__)

# Statuses a sync can be in while it still holds the connection. Queried one
# by one (the API filters by a single status) rather than relying on
# ``orderBy``, whose support we could not confirm against a live server.
_ACTIVE_QUERY_ORDER = ("running", "pending", "queued", "incomplete")


@dataclass(frozen=True)
class DestinationInfo:
    """The two facts about the destination the contract check needs."""

    destination_type: str | None
    schema: str | None
    name: str | None = None


class AirbyteClient:
    """The Airbyte API calls of one ``dvdrental`` run; use as a context manager."""

    def __init__(
        self,
        settings: AirbyteSettings,
        *,
        sleep: t.Callable[[float], None] = time.sleep,
        clock: t.Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.transport = AirbyteTransport(settings, sleep=sleep, clock=clock)
        self.redact = self.transport.redact
        self.retry = self.transport.retry
        self._sdk = self.transport.sdk
        self._call = self.transport.call

    def __enter__(self) -> AirbyteClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()

    # -- connection -------------------------------------------------------

    def get_connection(self) -> models.ConnectionResponse:
        connection_id = self.settings.connection_id
        response = self._call(
            f"GET /connections/{connection_id}",
            lambda: self._sdk.connections.get_connection(
                request=api.GetConnectionRequest(connection_id=connection_id), retries=None
            ),
            not_found=lambda: AirbyteConnectionNotFound(
                f"Airbyte connection {connection_id} was not found (HTTP 404 from {self.settings.api_url}). "
                "Check AIRBYTE_CONNECTION_ID and that the credentials belong to the connection's workspace."
            ),
            # Airbyte checks the caller's role in the connection's workspace before it looks the
            # connection up; an id it cannot resolve has no workspace, so no role: 403, not 404
            # (airbyte-platform RoleResolver / AuthenticationHeaderResolver.resolveWorkspace).
            forbidden=lambda words: AirbyteAuthError(
                f"Airbyte refused GET /connections/{connection_id} (HTTP 403: {words}). Airbyte answers 403 both "
                "for a connection id that does not exist and for one the credentials may not read: check "
                f"AIRBYTE_CONNECTION_ID first, then that {self.settings.acting_user} has a role in the "
                "connection's workspace."
            ),
        )
        if response.connection_response is None:
            raise AirbyteError(f"GET /connections/{connection_id} answered without a connection.")
        return response.connection_response

    def get_destination(self, destination_id: str) -> DestinationInfo:
        """Type and default schema of the destination, read from the raw JSON:
        the SDK's configuration is a union of ~100 connector models and may
        pick the wrong one, and we need only two fields."""
        response = self._call(
            f"GET /destinations/{destination_id}",
            lambda: self._sdk.destinations.get_destination(
                request=api.GetDestinationRequest(destination_id=destination_id), retries=None
            ),
            lenient=True,
        )
        try:
            data = response.raw_response.json()
        except ValueError:
            data = {}
        configuration = data.get("configuration") if isinstance(data, dict) else None
        schema = configuration.get("schema") if isinstance(configuration, dict) else None
        return DestinationInfo(
            destination_type=_str_or_none(data.get("destinationType")) if isinstance(data, dict) else None,
            schema=_str_or_none(schema),
            name=_str_or_none(data.get("name")) if isinstance(data, dict) else None,
        )

    # -- jobs -------------------------------------------------------------

    def find_active_sync(self) -> JobSnapshot | None:
        """The newest sync job on our connection that has not finished, if any."""
        found: list[JobSnapshot] = []
        for status in _ACTIVE_QUERY_ORDER:
            found.extend(self.list_sync_jobs(status=status))
        active = [job for job in found if job.status in ACTIVE_STATUSES]
        return max(active, key=lambda job: job.job_id) if active else None

    def list_sync_jobs(self, *, status: str) -> list[JobSnapshot]:
        request = api.ListJobsRequest(
            connection_id=self.settings.connection_id,
            job_type=models.JobTypeEnum.SYNC,
            status=models.JobStatusEnum(status),
        )
        response = self._call(
            f"GET /jobs?status={status}",
            lambda: self._sdk.jobs.list_jobs(request=request, retries=None),
            lenient=True,
        )
        try:
            if response.jobs_response is not None:
                return [JobSnapshot.from_model(job) for job in response.jobs_response.data]
        except AttributeError:
            pass
        data = json_body(response.raw_response)
        rows = data.get("data") if isinstance(data, dict) else None
        if not isinstance(rows, list):
            raise AirbyteError(f"GET /jobs answered without a 'data' list: {self.redact(str(data)[:200])}")
        return [JobSnapshot.from_json(row) for row in rows]

    def get_job(self, job_id: int) -> JobSnapshot:
        response = self._call(
            f"GET /jobs/{job_id}",
            lambda: self._sdk.jobs.get_job(request=api.GetJobRequest(job_id=job_id), retries=None),
            lenient=True,
        )
        return self._job_from(response)

    def create_sync_job(self) -> JobSnapshot:
        """One ``POST /jobs``, never retried here (see :meth:`start_or_attach`)."""
        request = models.JobCreateRequest(connection_id=self.settings.connection_id, job_type=models.JobTypeEnum.SYNC)
        timeout_ms = int(self.settings.start_request_timeout_seconds * 1000)
        response = self._call(
            "POST /jobs (start sync)",
            lambda: self._sdk.jobs.create_job(request=request, retries=None, timeout_ms=timeout_ms),
            retry=False,
            lenient=True,
        )
        return self._job_from(response)

    def cancel_job(self, job_id: int) -> JobSnapshot | None:
        """``DELETE /jobs/{id}``; safe to repeat, so retried like a GET."""
        response = self._call(
            f"DELETE /jobs/{job_id} (cancel)",
            lambda: self._sdk.jobs.cancel_job(request=api.CancelJobRequest(job_id=job_id), retries=None),
            lenient=True,
        )
        try:
            return self._job_from(response)
        except AirbyteError:
            return None  # cancelled; the body is a courtesy

    def _job_from(self, response: t.Any) -> JobSnapshot:
        job = getattr(response, "job_response", None)
        if job is not None:
            return JobSnapshot.from_model(job)
        return JobSnapshot.from_json(json_body(response.raw_response))


def _str_or_none(value: t.Any) -> str | None:
    return None if value is None else str(value)
