from __future__ import annotations

import pytest

from foundation.errors import ConfigError, MissingSettingError
from ingest.airbyte import AirbyteSettings, check_connection, run_sync
from tests.support import fake_airbyte as fa


def test_missing_connection_id_is_named(monkeypatch) -> None:
    monkeypatch.setenv("AIRBYTE_API_TOKEN", fa.STATIC_TOKEN)
    with pytest.raises(MissingSettingError) as caught:
        run_sync()
    assert caught.value.variable == "AIRBYTE_CONNECTION_ID"
    assert "AIRBYTE_CONNECTION_ID" in str(caught.value)
    assert caught.value.exit_code == 2


def test_missing_credentials_name_both_options(monkeypatch) -> None:
    monkeypatch.setenv("AIRBYTE_CONNECTION_ID", fa.CONNECTION_ID)
    with pytest.raises(MissingSettingError) as caught:
        check_connection()
    message = str(caught.value)
    assert "AIRBYTE_CLIENT_ID" in message and "AIRBYTE_CLIENT_SECRET" in message and "AIRBYTE_API_TOKEN" in message


def test_client_id_without_secret_names_the_secret(monkeypatch) -> None:
    monkeypatch.setenv("AIRBYTE_CONNECTION_ID", fa.CONNECTION_ID)
    monkeypatch.setenv("AIRBYTE_CLIENT_ID", fa.CLIENT_ID)
    with pytest.raises(MissingSettingError) as caught:
        AirbyteSettings.from_env()
    assert caught.value.variable == "AIRBYTE_CLIENT_SECRET"


def test_defaults_and_overrides_from_env(monkeypatch) -> None:
    monkeypatch.setenv("AIRBYTE_CONNECTION_ID", fa.CONNECTION_ID)
    monkeypatch.setenv("AIRBYTE_API_TOKEN", fa.STATIC_TOKEN)
    settings = AirbyteSettings.from_env()
    assert settings.api_url == "https://api.airbyte.com/v1"
    assert settings.poll_interval_seconds == 10
    assert settings.poll_timeout_seconds == 3 * 3600
    assert settings.resolved_token_url == "https://api.airbyte.com/v1/applications/token"
    monkeypatch.setenv("AIRBYTE_API_URL", "http://airbyte.internal:8000/api/public/v1/")
    monkeypatch.setenv("AIRBYTE_POLL_INTERVAL_SECONDS", "2.5")
    monkeypatch.setenv("AIRBYTE_MAX_RETRIES", "0")
    monkeypatch.setenv("AIRBYTE_CANCEL_ON_TERMINATION", "no")
    settings = AirbyteSettings.from_env()
    assert settings.resolved_token_url == "http://airbyte.internal:8000/api/public/v1/applications/token"
    assert (settings.poll_interval_seconds, settings.max_retries, settings.cancel_on_termination) == (2.5, 0, False)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AIRBYTE_POLL_INTERVAL_SECONDS", "often"),
        ("AIRBYTE_MAX_RETRIES", "1.5"),
        ("AIRBYTE_CANCEL_ON_TERMINATION", "maybe"),
        ("AIRBYTE_TIMEOUT_SECONDS", "-1"),
    ],
)
def test_invalid_values_name_the_variable(monkeypatch, name, value) -> None:
    monkeypatch.setenv("AIRBYTE_CONNECTION_ID", fa.CONNECTION_ID)
    monkeypatch.setenv("AIRBYTE_API_TOKEN", fa.STATIC_TOKEN)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        AirbyteSettings.from_env()


def test_repr_hides_secrets() -> None:
    settings = AirbyteSettings(connection_id="c", client_id=fa.CLIENT_ID, client_secret=fa.CLIENT_SECRET)
    assert fa.CLIENT_SECRET not in repr(settings)
    token_settings = AirbyteSettings(connection_id="c", api_token=fa.STATIC_TOKEN)
    assert fa.STATIC_TOKEN not in repr(token_settings) and fa.STATIC_TOKEN not in token_settings.auth_mode


@pytest.mark.parametrize(
    ("values", "words"),
    [
        (
            {"AIRBYTE_AUTH": "none", "AIRBYTE_API_URL": "https://api.airbyte.com/v1"},
            "Airbyte Cloud (https://api.airbyte.com/v1) needs",
        ),
        (
            {
                "AIRBYTE_AUTH": "none",
                "AIRBYTE_API_URL": "http://airbyte.internal/api/public/v1",
                "AIRBYTE_API_TOKEN": fa.STATIC_TOKEN,
            },
            "AIRBYTE_CLIENT_ID/AIRBYTE_CLIENT_SECRET/AIRBYTE_API_TOKEN are set too",
        ),
        ({"AIRBYTE_AUTH": "off"}, "AIRBYTE_AUTH='off'"),
        ({"AIRBYTE_API_URL": "http://airbyte.internal/api/public/v1"}, "AIRBYTE_AUTH=none instead"),
    ],
    ids=["none-on-cloud", "none-with-credentials", "unknown-value", "no-credentials"],
)
def test_authentication_settings_are_checked_before_any_request(monkeypatch, values, words) -> None:
    monkeypatch.setenv("AIRBYTE_CONNECTION_ID", fa.CONNECTION_ID)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        AirbyteSettings.from_env()
    assert words in str(caught.value) and caught.value.exit_code == 2
    assert fa.STATIC_TOKEN not in str(caught.value)


def test_auth_none_on_self_managed_and_the_start_request_timeout(monkeypatch) -> None:
    monkeypatch.setenv("AIRBYTE_CONNECTION_ID", fa.CONNECTION_ID)
    monkeypatch.setenv("AIRBYTE_API_URL", "http://airbyte.internal/api/public/v1")
    monkeypatch.setenv("AIRBYTE_AUTH", "None")
    monkeypatch.setenv("AIRBYTE_REQUEST_TIMEOUT_SECONDS", "5")
    settings = AirbyteSettings.from_env()
    assert settings.auth_disabled and "no authentication" in settings.auth_mode
    # POST /jobs may take the server's own 60 s wait for the job id: never shorter than that.
    assert settings.request_timeout_seconds == 5 and settings.start_request_timeout_seconds > 60
