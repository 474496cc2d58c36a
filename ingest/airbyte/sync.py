"""The sync workflow: check the connection, start or attach, wait, cancel, report.

The API calls themselves are :mod:`.client` (over :mod:`.transport`); this module
decides what to call when. The wait is where a batch job usually goes wrong, so it is explicit about
its exits: a terminal status (``succeeded``/``failed``/``cancelled``), the
overall deadline (``AIRBYTE_TIMEOUT_SECONDS``), Ctrl-C and SIGTERM. The last
three cancel the job (``DELETE /jobs/{id}``) unless
``AIRBYTE_CANCEL_ON_TERMINATION=false``, so a killed scheduler run does not
leave a sync rewriting bronze behind the next run's back.
"""

from __future__ import annotations

import logging
import time
import typing as t
from dataclasses import dataclass

from foundation.signals import Terminated, sigterm_as_interrupt
from ingest.airbyte.client import AirbyteClient
from ingest.airbyte.contract import (
    ContractReport,
    DestinationFacts,
    check_connection_contract,
    needs_destination,
    status_problem,
)
from ingest.airbyte.errors import (
    AirbyteAuthError,
    AirbyteContractError,
    AirbyteError,
    AirbyteInterrupted,
    AirbyteJobFailed,
    AirbyteRequestFailed,
    AirbyteTerminated,
    AirbyteTimeout,
)
from ingest.airbyte.jobs import JobSnapshot
from ingest.airbyte.settings import AirbyteSettings

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 300.0  # how often a long wait logs "still running"


@dataclass(frozen=True)
class SyncResult:
    """What a finished sync reports. Counts are None if Airbyte did not say."""

    job_id: int
    status: str
    rows_synced: int | None
    bytes_synced: int | None
    duration_seconds: float | None
    attached: bool = False  # True: we joined a sync that was already running

    def summary(self) -> str:
        rows = "unknown" if self.rows_synced is None else f"{self.rows_synced:,}"
        size = "unknown" if self.bytes_synced is None else _human_bytes(self.bytes_synced)
        duration = "unknown" if self.duration_seconds is None else _human_duration(self.duration_seconds)
        how = " (attached to a running sync)" if self.attached else ""
        return f"Airbyte sync job {self.job_id} {self.status}{how}: {rows} rows, {size} synced in {duration}"


def run_sync(
    settings: AirbyteSettings | None = None,
    *,
    client: AirbyteClient | None = None,
) -> SyncResult:
    """Check the connection, start (or attach to) its sync and wait for it.

    Raises a :class:`~foundation.errors.PipelineError` subclass (see
    :mod:`ingest.airbyte.errors`) on anything but success.
    """
    settings = settings or AirbyteSettings.from_env()
    owns_client = client is None
    client = client or AirbyteClient(settings)
    try:
        report = _check_contract(client)
        report.raise_for_problems()
        job, attached = start_or_attach(client)
        final = wait_for_job(client, job, clock=client.clock)  # the client's clock paces its sleeps too
    finally:
        if owns_client:
            client.close()
    result = SyncResult(
        job_id=final.job_id,
        status=final.status,
        rows_synced=final.rows_synced,
        bytes_synced=final.bytes_synced,
        duration_seconds=final.duration_seconds,
        attached=attached,
    )
    logger.info("%s", result.summary())
    return result


def check_connection(settings: AirbyteSettings | None = None, *, client: AirbyteClient | None = None) -> str:
    """Validate settings, credentials and the connection; start nothing.

    Returns a human summary; raises the same errors a sync would have raised
    before starting (missing setting, auth, 404, contract mismatch).
    """
    settings = settings or AirbyteSettings.from_env()
    owns_client = client is None
    client = client or AirbyteClient(settings)
    try:
        report = _check_contract(client, always_read_destination=True)
        report.raise_for_problems()
        active = client.find_active_sync()
    finally:
        if owns_client:
            client.close()
    lines = [
        f"Airbyte API {settings.api_url}: credentials accepted ({settings.auth_mode}).",
        f"Connection {report.connection_name!r} ({report.connection_id}) matches the bronze contract: "
        f"{report.streams} stream(s), full refresh | overwrite, prefix raw_dvd_, schema bronze.",
    ]
    lines += [f"warning: {warning}" for warning in report.warnings]
    if active is None:
        lines.append("No sync is running on it now.")
    else:
        lines.append(f"Sync job {active.job_id} is {active.status} on it now; a sync would attach to it.")
    return "\n".join(lines)


def _check_contract(client: AirbyteClient, *, always_read_destination: bool = False) -> ContractReport:
    connection = client.get_connection()
    destination = None
    if always_read_destination or needs_destination(connection):
        try:
            info = client.get_destination(connection.destination_id)
            destination = DestinationFacts(destination_type=info.destination_type, schema=info.schema)
        except AirbyteAuthError:
            raise
        except AirbyteError as error:
            logger.warning("Could not read destination %s: %s", connection.destination_id, error)
    return check_connection_contract(connection, destination)


def start_or_attach(client: AirbyteClient) -> tuple[JobSnapshot, bool]:
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
    active = client.find_active_sync()
    if active is not None:
        logger.info(
            "Sync job %s is already %s on connection %s; attaching to it",
            active.job_id,
            active.status,
            client.settings.connection_id,
        )
        return active, True
    deadline = client.clock() + client.settings.start_timeout_seconds
    faults = conflicts = 0
    while True:
        try:
            job = client.create_sync_job()
            logger.info("Started Airbyte sync job %s (status %s)", job.job_id, job.status)
            return job, False
        except AirbyteRequestFailed as error:
            if error.status_code == 409 and not error.problem.is_try_again_later:
                return _job_after_refusal(client, error, deadline), False
            if not error.transient and error.status_code != 409:
                raise
            failure = error
        active = client.find_active_sync()
        if active is not None:
            logger.info("%s; attaching to sync job %s (%s)", failure, active.job_id, active.status)
            return active, True
        # Nothing running: the 409's job already ended (or is not visible yet), or the
        # failed create never reached Airbyte. Asking again is now safe.
        if failure.status_code == 409:
            _pause_before(client, deadline, conflicts, failure)
            conflicts += 1
        else:
            client.retry.pause(faults, "Starting the Airbyte sync", str(failure))
            faults += 1


def _pause_before(client: AirbyteClient, deadline: float, attempt: int, conflict: AirbyteRequestFailed) -> None:
    """Back off before asking again after a try-again-later, or give up once the deadline passed."""
    connection_id = client.settings.connection_id
    remaining = deadline - client.clock()
    if remaining <= 0:
        raise AirbyteError(
            f"Airbyte kept answering POST /jobs with 409 try-again-later "
            f"({conflict.problem.text or 'a sync is already running'}) for "
            f"{client.settings.start_timeout_seconds:g}s (AIRBYTE_START_TIMEOUT_SECONDS), but no sync job is "
            f"visible on connection {connection_id}: look for a stuck sync in its job history in the Airbyte "
            "UI, cancel it, and run again."
        )
    wait = min(client.retry.delay(attempt), remaining)
    logger.warning(
        "POST /jobs: %s, but no sync job is visible on connection %s; asking again in %.2fs",
        conflict.problem.text or "HTTP 409",
        connection_id,
        wait,
    )
    client.retry.sleep(wait)


def _job_after_refusal(client: AirbyteClient, refusal: AirbyteRequestFailed, deadline: float) -> JobSnapshot:
    """After a 409 that is not try-again-later: the reason, or the job the server was still creating."""
    connection_id = client.settings.connection_id
    problem = status_problem(client.get_connection())
    if problem is not None:  # disabled between our contract check and the POST
        raise AirbyteContractError(f"Airbyte connection {connection_id} refused to sync: {problem}.")
    title = refusal.problem.title or "conflict"
    logger.warning(
        "POST /jobs answered 409 %s (%s) on active connection %s; looking for the sync job it may still be creating",
        title,
        refusal.problem.text or "no reason given",
        connection_id,
    )
    attempt = 0
    while True:
        active = client.find_active_sync()
        if active is not None:
            logger.info("Sync job %s appeared (%s); following it", active.job_id, active.status)
            return active
        remaining = deadline - client.clock()
        if remaining <= 0:
            raise AirbyteError(
                f"Airbyte refused to start a sync on connection {connection_id}: POST /jobs answered 409 "
                f"{title} ({refusal.problem.text or 'no reason given'}) and no sync job appeared within "
                f"{client.settings.start_timeout_seconds:g}s (AIRBYTE_START_TIMEOUT_SECONDS); see the "
                "connection's job history in the Airbyte UI."
            )
        client.retry.sleep(min(client.retry.delay(attempt), remaining))
        attempt += 1


def wait_for_job(
    client: AirbyteClient, job: JobSnapshot, *, clock: t.Callable[[], float] = time.monotonic
) -> JobSnapshot:
    """Poll until the job ends; cancel it if we stop waiting for any other reason."""
    settings = client.settings
    deadline = clock() + settings.poll_timeout_seconds
    current = job
    try:
        with sigterm_as_interrupt():
            current = _poll(client, current, deadline, clock)
    except Terminated:
        _cancel(client, current, "SIGTERM received")
        raise AirbyteTerminated(
            f"Terminated (SIGTERM) while waiting for Airbyte sync job {current.job_id}; {_cancel_words(settings)}."
        ) from None
    except KeyboardInterrupt:
        _cancel(client, current, "interrupted")
        raise AirbyteInterrupted(
            f"Interrupted while waiting for Airbyte sync job {current.job_id}; {_cancel_words(settings)}."
        ) from None
    except AirbyteAuthError:
        raise
    except AirbyteError as error:
        # Lost contact (retries used up) or an unreadable answer. A cancel
        # would most likely fail the same way, so just say what is unknown.
        raise AirbyteError(
            f"Stopped waiting for Airbyte sync job {current.job_id} (last seen {current.status}); "
            f"it may still be running: {error}"
        ) from None
    except _DeadlinePassed as passed:
        current = passed.job
        _cancel(client, current, "timeout")
        raise AirbyteTimeout(
            f"Airbyte sync job {current.job_id} was still {current.status} after "
            f"{settings.poll_timeout_seconds:g}s (AIRBYTE_TIMEOUT_SECONDS); {_cancel_words(settings)}."
        ) from None
    if current.status != "succeeded":
        raise AirbyteJobFailed(current.job_id, current.status, "see the job's logs in the Airbyte UI")
    return current


class _DeadlinePassed(Exception):
    def __init__(self, job: JobSnapshot) -> None:
        super().__init__(job.job_id)
        self.job = job


def _poll(client: AirbyteClient, job: JobSnapshot, deadline: float, clock: t.Callable[[], float]) -> JobSnapshot:
    interval = client.settings.poll_interval_seconds
    last_status = None
    started = clock()
    next_heartbeat = started + HEARTBEAT_SECONDS
    while True:
        if job.status == last_status and clock() >= next_heartbeat:
            # A sync runs for hours; say now and then that we are still here.
            logger.info(
                "Airbyte sync job %s still %s after %s", job.job_id, job.status, _human_duration(clock() - started)
            )
            next_heartbeat = clock() + HEARTBEAT_SECONDS
        if job.status != last_status:
            if job.is_known_status:
                logger.info("Airbyte sync job %s is %s", job.job_id, job.status)
            else:
                logger.warning("Airbyte sync job %s has unknown status %r; still waiting", job.job_id, job.status)
            if job.status == "incomplete":
                logger.warning("Airbyte sync job %s: an attempt failed; Airbyte is retrying", job.job_id)
            last_status = job.status
        if job.is_terminal:
            return job
        remaining = deadline - clock()
        if remaining <= 0:
            raise _DeadlinePassed(job)
        client.retry.sleep(min(interval, remaining))
        if clock() >= deadline:
            raise _DeadlinePassed(job)
        job = client.get_job(job.job_id)


def _cancel(client: AirbyteClient, job: JobSnapshot, why: str) -> None:
    """Best effort: a cancel that fails must not hide why we stopped."""
    if not client.settings.cancel_on_termination:
        logger.warning("%s: leaving Airbyte sync job %s running (AIRBYTE_CANCEL_ON_TERMINATION=false)", why, job.job_id)
        return
    logger.warning("%s: cancelling Airbyte sync job %s", why, job.job_id)
    try:
        client.cancel_job(job.job_id)
    except (AirbyteError, Exception) as error:  # noqa: BLE001 - reported, then the original error wins
        logger.error(
            "Could not cancel Airbyte sync job %s: %s; it may still be running", job.job_id, client.redact(error)
        )
    else:
        logger.info("Asked Airbyte to cancel sync job %s", job.job_id)


def _cancel_words(settings: AirbyteSettings) -> str:
    return "asked Airbyte to cancel it" if settings.cancel_on_termination else "left it running"


def _human_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{count} B"


def _human_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
