"""The Airbyte settings as one typed, validated object.

Every knob is named like ``AIRBYTE_*`` and read through
:mod:`foundation.settings` (environment first, then ``.env``). The secrets are
``field(repr=False)`` so a logged or printed settings object never shows
them; :meth:`AirbyteSettings.secrets` lists them for redaction.
"""

from __future__ import annotations

import dataclasses
import logging
import typing as t
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from foundation import settings as env
from foundation.errors import ConfigError, MissingSettingError

logger = logging.getLogger(__name__)

CLOUD_API_URL = "https://api.airbyte.com/v1"
# AIRBYTE_AUTH=none: a self-managed Airbyte whose API runs with authentication off
# (airbyte-platform, airbyte-server/src/main/resources/application.yml:
# ``micronaut.security.enabled: ${API_AUTHORIZATION_ENABLED:false}``), which needs no credentials.
AUTH_NONE = "none"
# POST /jobs may take the server's own 60 s wait for the job id (airbyte-platform,
# TemporalClient.START_MANUAL_SYNC_JOB_ID_WAIT_TIMEOUT_MS) before it answers, so its request
# timeout is never below this, whatever AIRBYTE_REQUEST_TIMEOUT_SECONDS says.
MIN_START_REQUEST_TIMEOUT_SECONDS = 75.0

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class AirbyteSettings:
    """How to reach Airbyte and how patiently to wait for it.

    Mirrors dagster-airbyte's ``AirbyteClient`` knobs (request timeout,
    retries, poll interval, poll timeout, cancel on termination) so the
    behaviour is familiar; the defaults suit a nightly batch.
    """

    connection_id: str
    api_url: str = CLOUD_API_URL
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    api_token: str | None = field(default=None, repr=False)
    # None: ``{api_url}/applications/token`` (Cloud and the public API of
    # self-managed both serve it there).
    token_url: str | None = None
    poll_interval_seconds: float = 10.0
    poll_timeout_seconds: float = 3 * 60 * 60.0
    request_timeout_seconds: float = 30.0
    max_retries: int = 5
    retry_backoff_seconds: float = 1.0
    cancel_on_termination: bool = True
    # How long to keep trying to start (or find) the sync when Airbyte answers POST /jobs with
    # a 409 but no sync job is visible (see AirbyteClient.start_or_attach).
    start_timeout_seconds: float = 300.0
    # True with AIRBYTE_AUTH=none: no credentials, no Authorization header (self-managed only).
    auth_disabled: bool = False
    # False for ``dvdrental airbyte plan/apply``: they find (or create) the connection by name.
    connection_required: bool = True

    def __post_init__(self) -> None:
        # Normalise once so every URL join downstream is a plain concatenation
        # (the SDK's own urljoin drops the base path: the bug we avoid).
        object.__setattr__(self, "api_url", self.api_url.rstrip("/"))
        if not self.connection_id and self.connection_required:
            raise MissingSettingError("AIRBYTE_CONNECTION_ID", "the Airbyte connection that loads bronze")
        if self.client_id and not self.client_secret:
            raise MissingSettingError(
                "AIRBYTE_CLIENT_SECRET", "AIRBYTE_CLIENT_ID is set, so its application secret is needed too"
            )
        if self.client_secret and not self.client_id:
            raise MissingSettingError(
                "AIRBYTE_CLIENT_ID", "AIRBYTE_CLIENT_SECRET is set, so its application id is needed too"
            )
        if self.auth_disabled:
            self._check_auth_disabled()
        elif not self.uses_client_credentials and not self.api_token:
            raise MissingSettingError(
                "AIRBYTE_CLIENT_ID",
                "Airbyte credentials are needed: set AIRBYTE_CLIENT_ID and AIRBYTE_CLIENT_SECRET "
                "(an application), or AIRBYTE_API_TOKEN (a bearer token); a self-managed Airbyte "
                f"with authentication off takes AIRBYTE_AUTH={AUTH_NONE} instead",
            )
        for name, url in (("AIRBYTE_API_URL", self.api_url), ("AIRBYTE_TOKEN_URL", self.token_url)):
            if url is not None and not url.startswith(("http://", "https://")):
                raise ConfigError(f"{name}={url!r} must start with http:// or https://.")
        for name, value, minimum in (
            ("AIRBYTE_POLL_INTERVAL_SECONDS", self.poll_interval_seconds, 0.0),
            ("AIRBYTE_TIMEOUT_SECONDS", self.poll_timeout_seconds, 0.0),
            ("AIRBYTE_REQUEST_TIMEOUT_SECONDS", self.request_timeout_seconds, 0.001),
            ("AIRBYTE_MAX_RETRIES", self.max_retries, 0),
            ("AIRBYTE_RETRY_BACKOFF_SECONDS", self.retry_backoff_seconds, 0.0),
            ("AIRBYTE_START_TIMEOUT_SECONDS", self.start_timeout_seconds, 0.0),
        ):
            if value < minimum:
                raise ConfigError(f"{name}={value} must be at least {minimum:g}.")

    def _check_auth_disabled(self) -> None:
        """Cloud always authenticates, and credentials next to AIRBYTE_AUTH=none are a
        contradiction: both are refused rather than guessed at."""
        if urlsplit(self.api_url).hostname == urlsplit(CLOUD_API_URL).hostname:
            raise ConfigError(
                f"AIRBYTE_AUTH={AUTH_NONE} is for a self-managed Airbyte with authentication off; Airbyte Cloud "
                f"({self.api_url}) needs AIRBYTE_CLIENT_ID and AIRBYTE_CLIENT_SECRET."
            )
        if self.client_id or self.client_secret or self.api_token:
            raise ConfigError(
                f"AIRBYTE_AUTH={AUTH_NONE} sends no credentials, but AIRBYTE_CLIENT_ID/AIRBYTE_CLIENT_SECRET/"
                "AIRBYTE_API_TOKEN are set too: unset AIRBYTE_AUTH or the credentials."
            )

    @property
    def start_request_timeout_seconds(self) -> float:
        return max(self.request_timeout_seconds, MIN_START_REQUEST_TIMEOUT_SECONDS)

    @property
    def uses_client_credentials(self) -> bool:
        return bool(self.client_id and self.client_secret)

    @property
    def acting_user(self) -> str:
        """Who Airbyte checks the roles of, named by the setting that picks it (for error lines)."""
        if self.uses_client_credentials:
            return "the user who created the application AIRBYTE_CLIENT_ID"
        return "the user of AIRBYTE_API_TOKEN"

    @property
    def resolved_token_url(self) -> str:
        return self.token_url or f"{self.api_url}/applications/token"

    @property
    def auth_mode(self) -> str:
        """Safe to print: which kind of credential is used, never its value."""
        if self.auth_disabled:
            return f"no authentication (AIRBYTE_AUTH={AUTH_NONE})"
        if self.uses_client_credentials:
            return f"application credentials (client id {self.client_id})"
        return "bearer token (AIRBYTE_API_TOKEN)"

    def secrets(self) -> tuple[str, ...]:
        """The values that must never reach a log line or an error message."""
        return tuple(s for s in (self.client_secret, self.api_token) if s)

    def replace(self, **changes: t.Any) -> AirbyteSettings:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, *, connection_required: bool = True) -> AirbyteSettings:
        """Read ``AIRBYTE_*`` from the environment / ``.env``.

        A missing required variable raises :class:`MissingSettingError`
        naming it, before any network call. ``connection_required=False``: the set-up
        commands, which look the connection up by name, need no AIRBYTE_CONNECTION_ID.
        """
        if connection_required:
            connection_id = env.required("AIRBYTE_CONNECTION_ID", "the Airbyte connection that loads bronze")
        else:
            connection_id = env.optional("AIRBYTE_CONNECTION_ID") or ""
        client_id = env.optional("AIRBYTE_CLIENT_ID")
        client_secret = env.optional("AIRBYTE_CLIENT_SECRET")
        api_token = env.optional("AIRBYTE_API_TOKEN")
        if client_id and client_secret and api_token:
            logger.info("AIRBYTE_CLIENT_ID/SECRET are set, so AIRBYTE_API_TOKEN is ignored")
            api_token = None
        return cls(
            connection_id=connection_id,
            api_url=env.optional("AIRBYTE_API_URL", CLOUD_API_URL) or CLOUD_API_URL,
            client_id=client_id,
            client_secret=client_secret,
            api_token=api_token,
            token_url=env.optional("AIRBYTE_TOKEN_URL"),
            poll_interval_seconds=env.number("AIRBYTE_POLL_INTERVAL_SECONDS", 10.0),
            poll_timeout_seconds=env.number("AIRBYTE_TIMEOUT_SECONDS", 3 * 60 * 60.0),
            request_timeout_seconds=env.number("AIRBYTE_REQUEST_TIMEOUT_SECONDS", 30.0, minimum=0.001),
            max_retries=_integer("AIRBYTE_MAX_RETRIES", 5),
            retry_backoff_seconds=env.number("AIRBYTE_RETRY_BACKOFF_SECONDS", 1.0),
            cancel_on_termination=_boolean("AIRBYTE_CANCEL_ON_TERMINATION", True),
            start_timeout_seconds=env.number("AIRBYTE_START_TIMEOUT_SECONDS", 300.0),
            auth_disabled=_auth_disabled(),
            connection_required=connection_required,
        )


def _integer(name: str, default: int) -> int:
    value = env.number(name, default)
    if value != int(value):
        raise ConfigError(f"{name}={value:g} must be a whole number.")
    return int(value)


def _auth_disabled() -> bool:
    raw = env.optional("AIRBYTE_AUTH")
    if raw is None or not raw.strip():
        return False
    if raw.strip().lower() == AUTH_NONE:
        return True
    raise ConfigError(f"AIRBYTE_AUTH={raw!r}: the only value is {AUTH_NONE!r} (leave it unset to use credentials).")


def _boolean(name: str, default: bool) -> bool:
    raw = env.optional(name)
    if raw is None:
        return default
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} must be true or false.")
