"""Run the bronze sync through Airbyte: check, start or attach, wait, report.

The wait is where a batch job usually goes wrong, so it is explicit about
its exits: a terminal status (``succeeded``/``failed``/``cancelled``), the
overall deadline (``AIRBYTE_TIMEOUT_SECONDS``), Ctrl-C and SIGTERM. The last
three cancel the job (``DELETE /jobs/{id}``) unless
``AIRBYTE_CANCEL_ON_TERMINATION=false``, so a killed scheduler run does not
leave a sync rewriting bronze behind the next run's back.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
import typing as t
from dataclasses import dataclass

from ingest.airbyte.client import AirbyteClient
from ingest.airbyte.contract import (
    ContractReport,
    DestinationFacts,
    check_connection_contract,
    needs_destination,
)
from ingest.airbyte.errors import (
    AirbyteAuthError,
    AirbyteError,
    AirbyteInterrupted,
    AirbyteJobFailed,
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


class _TerminationRequested(BaseException):
    """Raised from the SIGTERM handler; a BaseException so that no ``except
    Exception`` on the way (httpx, the SDK) can swallow it."""


def run_sync(
    settings: AirbyteSettings | None = None,
    *,
    client: AirbyteClient | None = None,
) -> SyncResult:
    """Check the connection, start (or attach to) its sync and wait for it.

    Raises a :class:`~ingest.errors.PipelineError` subclass (see
    :mod:`ingest.airbyte.errors`) on anything but success.
    """
    settings = settings or AirbyteSettings.from_env()
    owns_client = client is None
    client = client or AirbyteClient(settings)
    try:
        report = _check_contract(client)
        report.raise_for_problems()
        job, attached = client.start_or_attach()
        final = wait_for_job(client, job)
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


def wait_for_job(
    client: AirbyteClient, job: JobSnapshot, *, clock: t.Callable[[], float] = time.monotonic
) -> JobSnapshot:
    """Poll until the job ends; cancel it if we stop waiting for any other reason."""
    settings = client.settings
    deadline = clock() + settings.poll_timeout_seconds
    current = job
    try:
        with _sigterm_raises():
            current = _poll(client, current, deadline, clock)
    except _TerminationRequested:
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


@contextlib.contextmanager
def _sigterm_raises() -> t.Iterator[None]:
    """Turn SIGTERM into an exception for the duration of the wait.

    Only the main thread may install handlers; elsewhere (e.g. a caller's
    worker thread) the wait runs without one rather than failing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, frame: object) -> None:
        raise _TerminationRequested()

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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
