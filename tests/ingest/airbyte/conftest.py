"""Fixtures for the Airbyte tests: a fake Airbyte API server and settings
pointing at it with tiny poll intervals, so the module runs in seconds."""

from __future__ import annotations

import os
import typing as t

import pytest

from foundation import settings as project_settings
from ingest.airbyte import AirbyteSettings
from tests.support.fake_airbyte import FakeAirbyte, make_settings


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


@pytest.fixture
def settings(fake: FakeAirbyte) -> AirbyteSettings:
    return make_settings(fake)
