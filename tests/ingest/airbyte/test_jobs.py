from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest.airbyte.errors import AirbyteError
from ingest.airbyte.jobs import JobSnapshot, parse_iso_duration, parse_timestamp


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T10:00Z", datetime(2024, 5, 1, 10, 0, tzinfo=UTC)),
        ("2024-05-01T10:00:07Z", datetime(2024, 5, 1, 10, 0, 7, tzinfo=UTC)),
        ("2024-05-01T10:00:07.5+02:00", datetime(2024, 5, 1, 8, 0, 7, 500000, tzinfo=UTC)),
        ("2024-05-01 10:00", datetime(2024, 5, 1, 10, 0, tzinfo=UTC)),
        ("1714557600", datetime(2024, 5, 1, 10, 0, tzinfo=UTC)),
        ("not a time", None),
        (None, None),
    ],
)
def test_timestamps_are_parsed_leniently(text, expected) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("PT2M5S", 125.0), ("PT1H", 3600.0), ("P1DT0.5S", 86400.5), ("PT", None), ("soon", None), (None, None)],
)
def test_iso_durations(text, seconds) -> None:
    assert parse_iso_duration(text) == seconds


def test_duration_falls_back_to_start_and_last_update() -> None:
    job = JobSnapshot(1, "succeeded", start_time="2024-05-01T10:00Z", last_updated_at="2024-05-01T10:01:30Z")
    assert job.duration_seconds == 90.0


def test_from_json_tolerates_unknown_status_and_missing_fields() -> None:
    job = JobSnapshot.from_json({"jobId": "12", "status": "Thinking"})
    assert (job.job_id, job.status, job.is_terminal, job.is_known_status) == (12, "thinking", False, False)
    with pytest.raises(AirbyteError):
        JobSnapshot.from_json({"status": "running"})
