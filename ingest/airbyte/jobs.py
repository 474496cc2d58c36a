"""What we know about one Airbyte job, parsed leniently.

The SDK's ``JobResponse`` rejects a status it does not know, and Airbyte adds
states over time; a nightly run must not crash on a new word while the job is
still working. So a job is kept as a :class:`JobSnapshot` with the status as a
plain string, built from the SDK model when it validates and from the raw
JSON when it does not. Times are parsed leniently too: the server has been
seen to drop zero seconds (``2024-05-01T10:00Z``).
"""

from __future__ import annotations

import logging
import re
import typing as t
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from airbyte_api import models

from ingest.airbyte.errors import AirbyteError

logger = logging.getLogger(__name__)

# Only these end a wait. ``incomplete`` means an attempt failed and Airbyte
# will try again, so it is *not* terminal.
TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})
ACTIVE_STATUSES = frozenset({"pending", "queued", "running", "incomplete"})
KNOWN_STATUSES = TERMINAL_STATUSES | ACTIVE_STATUSES


@dataclass(frozen=True)
class JobSnapshot:
    job_id: int
    status: str
    job_type: str | None = None
    connection_id: str | None = None
    start_time: str | None = None
    last_updated_at: str | None = None
    duration: str | None = None
    rows_synced: int | None = None
    bytes_synced: int | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def is_known_status(self) -> bool:
        return self.status in KNOWN_STATUSES

    @property
    def duration_seconds(self) -> float | None:
        """From ``duration`` (ISO 8601) if given, else end minus start."""
        seconds = parse_iso_duration(self.duration)
        if seconds is not None:
            return seconds
        start, end = parse_timestamp(self.start_time), parse_timestamp(self.last_updated_at)
        if start is not None and end is not None and end >= start:
            return (end - start).total_seconds()
        return None

    @classmethod
    def from_model(cls, job: models.JobResponse) -> JobSnapshot:
        return cls(
            job_id=int(job.job_id),
            status=_enum_value(job.status),
            job_type=_enum_value(job.job_type),
            connection_id=job.connection_id,
            start_time=job.start_time,
            last_updated_at=job.last_updated_at,
            duration=job.duration,
            rows_synced=job.rows_synced,
            bytes_synced=job.bytes_synced,
        )

    @classmethod
    def from_json(cls, data: t.Any) -> JobSnapshot:
        """Tolerant twin of :meth:`from_model`: only ``jobId`` and ``status``
        are required, anything else may be missing or oddly typed."""
        if not isinstance(data, dict) or "jobId" not in data or "status" not in data:
            raise AirbyteError(f"Airbyte answered with something that is not a job: {_preview(data)}")
        try:
            job_id = int(data["jobId"])
        except (TypeError, ValueError):
            raise AirbyteError(f"Airbyte answered with a job id that is not a number: {data['jobId']!r}") from None
        return cls(
            job_id=job_id,
            status=str(data["status"]).strip().lower(),
            job_type=_str_or_none(data.get("jobType")),
            connection_id=_str_or_none(data.get("connectionId")),
            start_time=_str_or_none(data.get("startTime")),
            last_updated_at=_str_or_none(data.get("lastUpdatedAt")),
            duration=_str_or_none(data.get("duration")),
            rows_synced=_int_or_none(data.get("rowsSynced")),
            bytes_synced=_int_or_none(data.get("bytesSynced")),
        )


_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)


def parse_timestamp(value: str | int | float | None) -> datetime | None:
    """ISO 8601 with or without seconds/fraction/offset, or epoch seconds/ms.

    Returns an aware UTC datetime, or None (logged at debug) if unparseable:
    a timestamp only feeds the duration report, never a decision.
    """
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.strip().isdigit()):
        number = float(value)
        if number > 1e11:  # milliseconds
            number /= 1000.0
        return datetime.fromtimestamp(number, tz=UTC)
    match = _TIMESTAMP.match(str(value).strip())
    if not match:
        logger.debug("Unparseable timestamp from Airbyte: %r", value)
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    microsecond = int((fraction or "0")[:6].ljust(6, "0"))
    tz = UTC
    if offset and offset.upper() != "Z":
        sign = 1 if offset[0] == "+" else -1
        digits = offset[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        parsed = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), microsecond, tzinfo=tz
        )
    except ValueError:
        logger.debug("Out-of-range timestamp from Airbyte: %r", value)
        return None
    return parsed.astimezone(UTC)


_DURATION = re.compile(
    r"^P(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)


def parse_iso_duration(value: str | None) -> float | None:
    """``PT8M32.5S`` → 512.5; None if absent or not a day-time duration."""
    if not value:
        return None
    match = _DURATION.match(value.strip())
    if not match or not any(match.groupdict().values()):
        logger.debug("Unparseable duration from Airbyte: %r", value)
        return None
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    return parts["days"] * 86400 + parts["hours"] * 3600 + parts["minutes"] * 60 + parts["seconds"]


def _enum_value(value: t.Any) -> str:
    return str(getattr(value, "value", value)).lower()


def _str_or_none(value: t.Any) -> str | None:
    return None if value is None else str(value)


def _int_or_none(value: t.Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _preview(data: t.Any, limit: int = 200) -> str:
    text = repr(data)
    return text if len(text) <= limit else text[:limit] + "..."
