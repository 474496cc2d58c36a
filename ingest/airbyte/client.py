"""A typed client for the few Airbyte API calls a sync needs.

Built on the ``airbyte-api`` SDK (its request building, paths and response
models) but not on its transport policy: the SDK's default timeout is 5 s and
it never retries, which is wrong for a nightly job talking to a cloud API.
Here every call goes through :meth:`AirbyteClient._call`, which

* gives each request ``AIRBYTE_REQUEST_TIMEOUT_SECONDS``;
* retries GET/DELETE on connection errors, timeouts, 429 (honouring
  ``Retry-After``) and 5xx, with backoff, up to ``AIRBYTE_MAX_RETRIES``;
* fails at once on 401/403 with a message about credentials (after one token
  renewal, for application tokens) and on any other 4xx, which a retry cannot
  fix;
* never retries ``POST /jobs`` blindly: a failed create may still have
  started a job, so :meth:`start_or_attach` first looks for a running one;
* tells the two 409s of ``POST /jobs`` apart by their problem title
  (:mod:`.problems`): only ``try-again-later`` means "a sync is running".

The design follows dagster-airbyte's ``AirbyteClient`` (named request
timeout, retries, poll interval and timeout, cancel on termination; check for
a running job before starting one).
"""

from __future__ import annotations

import logging
import time
import typing as t
from dataclasses import dataclass

import airbyte_api
import httpx
from airbyte_api import api, errors, models

from ingest.airbyte.auth import TokenProvider
from ingest.airbyte.contract import status_problem
from ingest.airbyte.errors import AirbyteAuthError, AirbyteConnectionNotFound, AirbyteContractError, AirbyteError
from ingest.airbyte.jobs import ACTIVE_STATUSES, JobSnapshot
from ingest.airbyte.problems import Problem
from ingest.airbyte.retry import RetryPolicy, describe_transport_error, is_retryable_status, retry_after_seconds
from ingest.airbyte.settings import AirbyteSettings
from ingest.redaction import Redactor

logger = logging.getLogger(__name__)

T = t.TypeVar("T")

# Statuses a sync can be in while it still holds the connection. Queried one
# by one (the API filters by a single status) rather than relying on
# ``orderBy``, whose support we could not confirm against a live server.
_ACTIVE_QUERY_ORDER = ("running", "pending", "queued", "incomplete")


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
        self._clock = clock
        self.redact = Redactor(settings.secrets())
        self.retry = RetryPolicy(
            max_retries=settings.max_retries,
            backoff_seconds=settings.retry_backoff_seconds,
            sleep=sleep,
        )
        _quiet_httpx()
        self._http = httpx.Client(follow_redirects=True, timeout=settings.request_timeout_seconds)
        self.tokens = TokenProvider(settings, self._http, self.redact, self.retry, clock=clock)
        self._sdk = airbyte_api.AirbyteAPI(
            server_url=settings.api_url,
            # A callable, so every request carries the current token; none at all with auth off.
            security=None if settings.auth_disabled else lambda: models.Security(bearer_auth=self.tokens.token()),
            client=self._http,
            timeout_ms=max(1, int(settings.request_timeout_seconds * 1000)),
        )

    def __enter__(self) -> AirbyteClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

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
        data = _json(response.raw_response)
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

    def start_or_attach(self) -> tuple[JobSnapshot, bool]:
        """Attach to a running sync, else start one. Returns (job, attached).

        Two syncs on one connection would fight over the same bronze tables,
        so a running job always wins. A create that failed without a clear
        answer (timeout, reset, 5xx) may have started a job anyway, so we look
        for one before trying again (at most ``AIRBYTE_MAX_RETRIES`` times).
        A 409 is read by its problem title (:mod:`.problems`):

        * ``try-again-later``: a sync is running, so attach to it. If none is
          visible, keep looking and asking, within ``AIRBYTE_START_TIMEOUT_SECONDS``
          (a workflow stuck "running" with no job has been reported:
          airbytehq/airbyte#25920), then fail naming the connection.
        * anything else (``state-conflict``): no sync is running, so asking again
          is pointless. Either the connection is not active, or the server's own
          60 s wait for the new job's id ran out and the job may still appear:
          look for it within the same time bound, posting nothing more.
        """
        active = self.find_active_sync()
        if active is not None:
            logger.info(
                "Sync job %s is already %s on connection %s; attaching to it",
                active.job_id,
                active.status,
                self.settings.connection_id,
            )
            return active, True
        deadline = self._clock() + self.settings.start_timeout_seconds
        faults = conflicts = 0
        while True:
            try:
                job = self.create_sync_job()
                logger.info("Started Airbyte sync job %s (status %s)", job.job_id, job.status)
                return job, False
            except AirbyteRequestFailed as error:
                if error.status_code == 409 and not error.problem.is_try_again_later:
                    return self._job_after_refusal(error, deadline), False
                if not error.transient and error.status_code != 409:
                    raise
                failure = error
            active = self.find_active_sync()
            if active is not None:
                logger.info("%s; attaching to sync job %s (%s)", failure, active.job_id, active.status)
                return active, True
            # Nothing running: the 409's job already ended (or is not visible yet), or the
            # failed create never reached Airbyte. Asking again is now safe.
            if failure.status_code == 409:
                self._pause_before(deadline, conflicts, failure)
                conflicts += 1
            else:
                self.retry.pause(faults, "Starting the Airbyte sync", str(failure))
                faults += 1

    def _pause_before(self, deadline: float, attempt: int, conflict: AirbyteRequestFailed) -> None:
        """Back off before asking again after a try-again-later, or give up once the deadline passed."""
        connection_id = self.settings.connection_id
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise AirbyteError(
                f"Airbyte kept answering POST /jobs with 409 try-again-later "
                f"({conflict.problem.text or 'a sync is already running'}) for "
                f"{self.settings.start_timeout_seconds:g}s (AIRBYTE_START_TIMEOUT_SECONDS), but no sync job is "
                f"visible on connection {connection_id}: look for a stuck sync in its job history in the Airbyte "
                "UI, cancel it, and run again."
            )
        wait = min(self.retry.delay(attempt), remaining)
        logger.warning(
            "POST /jobs: %s, but no sync job is visible on connection %s; asking again in %.2fs",
            conflict.problem.text or "HTTP 409",
            connection_id,
            wait,
        )
        self.retry.sleep(wait)

    def _job_after_refusal(self, refusal: AirbyteRequestFailed, deadline: float) -> JobSnapshot:
        """After a 409 that is not try-again-later: the reason, or the job the server was still creating."""
        connection_id = self.settings.connection_id
        problem = status_problem(self.get_connection())
        if problem is not None:  # disabled between our contract check and the POST
            raise AirbyteContractError(f"Airbyte connection {connection_id} refused to sync: {problem}.")
        title = refusal.problem.title or "conflict"
        logger.warning(
            "POST /jobs answered 409 %s (%s) on active connection %s; looking for the sync job it "
            "may still be creating",
            title,
            refusal.problem.text or "no reason given",
            connection_id,
        )
        attempt = 0
        while True:
            active = self.find_active_sync()
            if active is not None:
                logger.info("Sync job %s appeared (%s); following it", active.job_id, active.status)
                return active
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise AirbyteError(
                    f"Airbyte refused to start a sync on connection {connection_id}: POST /jobs answered 409 "
                    f"{title} ({refusal.problem.text or 'no reason given'}) and no sync job appeared within "
                    f"{self.settings.start_timeout_seconds:g}s (AIRBYTE_START_TIMEOUT_SECONDS); see the "
                    "connection's job history in the Airbyte UI."
                )
            self.retry.sleep(min(self.retry.delay(attempt), remaining))
            attempt += 1

    # -- plumbing ---------------------------------------------------------

    def _job_from(self, response: t.Any) -> JobSnapshot:
        job = getattr(response, "job_response", None)
        if job is not None:
            return JobSnapshot.from_model(job)
        return JobSnapshot.from_json(_json(response.raw_response))

    def _call(
        self,
        what: str,
        operation: t.Callable[[], T],
        *,
        retry: bool = True,
        lenient: bool = False,
        not_found: t.Callable[[], AirbyteError] | None = None,
    ) -> T:
        """Run one SDK operation with our timeout/retry/auth policy.

        ``lenient``: if the SDK cannot validate a 2xx body (e.g. a job status
        newer than the SDK), return a stand-in whose ``raw_response`` the
        caller parses itself, instead of failing the run.
        """
        attempt = 0
        renewed_token = False
        while True:
            retry_after: float | None = None
            try:
                return operation()
            except errors.ResponseValidationError as error:
                if lenient and 200 <= error.raw_response.status_code < 300:
                    logger.debug(
                        "%s: SDK could not validate the body (%s); parsing it leniently", what, self.redact(error.cause)
                    )
                    return t.cast(T, _RawResult(error.raw_response))
                raise AirbyteError(f"{what}: unexpected response from Airbyte: {self.redact(error.cause)}") from None
            except errors.AirbyteAPIError as error:
                status = error.status_code
                if status in (401, 403):
                    if status == 401 and self.tokens.refreshable and not renewed_token:
                        logger.info("%s: HTTP 401; renewing the access token and trying once more", what)
                        self.tokens.invalidate()
                        renewed_token = True
                        continue
                    raise _refused(what, status, self.settings) from None
                if status == 404 and not_found is not None:
                    raise not_found() from None
                problem = _problem(error)
                detail = _error_detail(error, problem, self.redact)
                if not is_retryable_status(status):
                    raise AirbyteRequestFailed(
                        f"{what} failed: HTTP {status}{detail}", status_code=status, transient=False, problem=problem
                    ) from None
                reason = f"HTTP {status}{detail}"
                retry_after = retry_after_seconds(error.headers)
                if not retry:
                    raise AirbyteRequestFailed(f"{what} failed: {reason}", status_code=status, transient=True) from None
            except (httpx.TransportError, errors.NoResponseError) as error:
                reason = self.redact(describe_transport_error(error))
                if not retry:
                    raise AirbyteRequestFailed(f"{what} failed: {reason}", status_code=None, transient=True) from None
            self.retry.pause(attempt, what, reason, retry_after)
            attempt += 1


@dataclass
class _RawResult:
    """Stands in for an SDK response object whose body did not validate."""

    raw_response: httpx.Response


def _quiet_httpx() -> None:
    """httpx logs every request at INFO: one line per poll for hours. Keep
    those for ``-v`` (debug) runs only, unless someone configured httpx."""
    httpx_logger = logging.getLogger("httpx")
    if httpx_logger.level == logging.NOTSET and not logger.isEnabledFor(logging.DEBUG):
        httpx_logger.setLevel(logging.WARNING)


def _json(response: httpx.Response) -> t.Any:
    try:
        return response.json()
    except ValueError:
        raise AirbyteError(
            f"Airbyte answered {response.request.method} {response.request.url.path} with a body that is not JSON."
        ) from None


def _problem(error: errors.AirbyteAPIError) -> Problem:
    try:
        return Problem.from_json(error.raw_response.json())
    except (ValueError, AttributeError):
        return Problem()


def _error_detail(error: errors.AirbyteAPIError, problem: Problem, redact: Redactor) -> str:
    """A short reason from an error body: ``data.message`` first (the useful words of an
    Airbyte problem), then ``message``/``detail``/``title``, else the raw body."""
    text = problem.text
    if not text and error.body and not error.body.lstrip().startswith("{"):
        text = error.body.strip()
    text = redact(" ".join(text.split()))
    if len(text) > 300:
        text = text[:300] + "..."
    return f" ({text})" if text else ""


def _refused(what: str, status: int, settings: AirbyteSettings) -> AirbyteAuthError:
    if settings.auth_disabled:
        return AirbyteAuthError(
            f"{what}: Airbyte asks for authentication (HTTP {status}) but AIRBYTE_AUTH=none sends none: "
            "unset AIRBYTE_AUTH and set AIRBYTE_CLIENT_ID and AIRBYTE_CLIENT_SECRET."
        )
    return AirbyteAuthError(
        f"{what}: Airbyte refused the credentials (HTTP {status}). Check {_credential_names(settings)} "
        f"and that they may access connection {settings.connection_id}."
    )


def _credential_names(settings: AirbyteSettings) -> str:
    if settings.uses_client_credentials:
        return "AIRBYTE_CLIENT_ID and AIRBYTE_CLIENT_SECRET"
    return "AIRBYTE_API_TOKEN"


def _str_or_none(value: t.Any) -> str | None:
    return None if value is None else str(value)
