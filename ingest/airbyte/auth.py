"""Bearer tokens for the Airbyte API, refreshed before they expire.

We do not use the SDK's client-credentials hook: it builds the token URL with
``urljoin`` (``https://api.airbyte.com/v1`` + ``/applications/token`` loses
the ``/v1``; self-managed loses ``/api/public/v1``), sends the request
form-encoded instead of the documented JSON, and has neither a sensible
timeout nor retries. Instead we fetch the token ourselves and hand the SDK a
plain bearer token.

Application tokens live 15 minutes by default on current servers
(airbyte-platform, ``airbyte-server/src/main/resources/application.yml``:
``application-token-expiration-in-minutes: ${AB_AIRBYTE_AUTH_TOKEN_EXPIRATION_APPLICATION:15}``;
older docs say 3), while a sync can run for hours. The lifetime is whatever the
answer's ``expires_in`` says, and the token is renewed shortly before it runs
out, including between two polls of a long wait, and once more if the API
still answers 401.
"""

from __future__ import annotations

import logging
import threading
import time
import typing as t

import httpx

from foundation.redaction import Redactor
from ingest.airbyte.errors import AirbyteAuthError, AirbyteError
from ingest.airbyte.settings import AirbyteSettings

logger = logging.getLogger(__name__)

# Only used when the token answer has no ``expires_in`` (the server always sends one):
# the shortest lifetime any Airbyte version documented, so a guess never outlives the token.
DEFAULT_TOKEN_LIFETIME_SECONDS = 180.0
# Renew this early (at most), so a token never expires in flight.
MAX_REFRESH_MARGIN_SECONDS = 60.0


class TokenProvider:
    """Gives out a valid bearer token; see the module docstring for why."""

    def __init__(
        self,
        settings: AirbyteSettings,
        post: t.Callable[[str, dict[str, str | None]], httpx.Response],
        redact: Redactor,
        *,
        clock: t.Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._post = post  # the transport's POST: retries network faults, 429 and 5xx itself
        self._redact = redact
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None if settings.uses_client_credentials else settings.api_token
        self._refresh_at: float = float("inf")
        self._expires_at: float = float("inf")

    @property
    def refreshable(self) -> bool:
        """Only application credentials can mint a new token."""
        return self._settings.uses_client_credentials

    @property
    def seconds_left(self) -> float | None:
        if not self.refreshable or self._token is None:
            return None
        return max(0.0, self._expires_at - self._clock())

    def token(self) -> str:
        with self._lock:
            if self._token is None or (self.refreshable and self._clock() >= self._refresh_at):
                self._fetch()
            assert self._token is not None
            return self._token

    def invalidate(self) -> None:
        """Forget the current application token (the API refused it)."""
        if self.refreshable:
            with self._lock:
                self._token = None

    def _fetch(self) -> None:
        url = self._settings.resolved_token_url
        body = {
            "client_id": self._settings.client_id,
            "client_secret": self._settings.client_secret,
            # Hyphen, not underscore: that is the field name in Airbyte's
            # documented request (ApplicationTokenRequestWithGrant).
            "grant-type": "client_credentials",
        }
        response = self._post(url, body)
        status = response.status_code
        if 200 <= status < 300:
            self._store(response, url)
            return
        if status in (400, 401, 403):
            # The body is not echoed: a token endpoint's error text is
            # the one place a credential could plausibly come back.
            raise AirbyteAuthError(
                f"Airbyte refused the application credentials (HTTP {status} from {url}). "
                "Check AIRBYTE_CLIENT_ID and AIRBYTE_CLIENT_SECRET (and AIRBYTE_API_URL/AIRBYTE_TOKEN_URL)."
            )
        raise AirbyteError(f"Requesting an Airbyte access token from {url} failed: HTTP {status}.")

    def _store(self, response: httpx.Response, url: str) -> None:
        try:
            data = response.json()
            token = data["access_token"]
        except (ValueError, KeyError, TypeError):
            raise AirbyteError(f"The token endpoint {url} answered without an access_token.") from None
        if not isinstance(token, str) or not token:
            raise AirbyteError(f"The token endpoint {url} answered with an empty access_token.")
        token_type = str(data.get("token_type") or "bearer")
        if token_type.lower() != "bearer":
            logger.warning("Token endpoint returned token_type %r; using it as a bearer token anyway", token_type)
        try:
            lifetime = float(data.get("expires_in", DEFAULT_TOKEN_LIFETIME_SECONDS))
        except (TypeError, ValueError):
            lifetime = DEFAULT_TOKEN_LIFETIME_SECONDS
        lifetime = max(lifetime, 0.0)
        now = self._clock()
        margin = min(MAX_REFRESH_MARGIN_SECONDS, lifetime / 4)
        self._redact.add(token)
        self._token = token
        self._expires_at = now + lifetime
        self._refresh_at = now + lifetime - margin
        logger.debug(
            "Got an Airbyte access token valid for %.0fs; renewing it after %.0fs", lifetime, lifetime - margin
        )
