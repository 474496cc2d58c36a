"""Fixtures for the Airbyte tests: a fake Airbyte API server and settings
pointing at it with tiny poll intervals, so the module runs in seconds."""

from __future__ import annotations

import os
import typing as t

import pytest

from foundation import settings as project_settings
from ingest.airbyte import AirbyteSettings
from tests.airbyte import fake_airbyte
from tests.airbyte.fake_airbyte import FakeAirbyte


@pytest.fixture(autouse=True)
def isolated_airbyte_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No AIRBYTE_* from the developer's shell or .env leaks into a test."""
    monkeypatch.setattr(project_settings, "_loaded", True)
    for name in list(os.environ):
        if name.startswith("AIRBYTE_"):
            monkeypatch.delenv(name)


@pytest.fixture
def fake() -> t.Iterator[FakeAirbyte]:
    with FakeAirbyte() as server:
        yield server


def make_settings(fake: FakeAirbyte, **overrides: t.Any) -> AirbyteSettings:
    values: dict[str, t.Any] = dict(
        connection_id=fake_airbyte.CONNECTION_ID,
        api_url=fake.url,
        client_id=fake_airbyte.CLIENT_ID,
        client_secret=fake_airbyte.CLIENT_SECRET,
        poll_interval_seconds=0.01,
        poll_timeout_seconds=10.0,
        request_timeout_seconds=2.0,
        max_retries=3,
        retry_backoff_seconds=0.01,
    )
    values.update(overrides)
    return AirbyteSettings(**values)


@pytest.fixture
def settings(fake: FakeAirbyte) -> AirbyteSettings:
    return make_settings(fake)


def airbyte_env(fake: FakeAirbyte, **overrides: str) -> dict[str, str]:
    """The same settings as environment variables, for subprocess tests."""
    env = {
        "AIRBYTE_API_URL": fake.url,
        "AIRBYTE_CONNECTION_ID": fake_airbyte.CONNECTION_ID,
        "AIRBYTE_CLIENT_ID": fake_airbyte.CLIENT_ID,
        "AIRBYTE_CLIENT_SECRET": fake_airbyte.CLIENT_SECRET,
        "AIRBYTE_POLL_INTERVAL_SECONDS": "0.01",
        "AIRBYTE_TIMEOUT_SECONDS": "30",
        "AIRBYTE_REQUEST_TIMEOUT_SECONDS": "2",
        "AIRBYTE_MAX_RETRIES": "3",
        "AIRBYTE_RETRY_BACKOFF_SECONDS": "0.01",
    }
    env.update(overrides)
    return env
