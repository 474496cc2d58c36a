"""The one place the Airbyte ingest calls HTTP: timeouts, retries, authentication, error words.

Built on the ``airbyte-api`` SDK (its request building, paths and response
models) but not on its transport policy: the SDK's default timeout is 5 s and
it never retries, which is wrong for a nightly job talking to a cloud API.
Every request, the SDK's operations (:meth:`AirbyteTransport.call`) and the
token request (:meth:`AirbyteTransport.post_token_request`) alike,

* gets ``AIRBYTE_REQUEST_TIMEOUT_SECONDS``;
* is retried on connection errors, timeouts, 429 (honouring ``Retry-After``)
  and 5xx, with backoff, up to ``AIRBYTE_MAX_RETRIES`` (:mod:`.retry`), unless
  the caller says a repeat is unsafe (``POST /jobs``: :mod:`.sync` decides);
* fails at once on 401/403 with a message about credentials (after one token
  renewal, for application tokens) and on any other 4xx, which a retry cannot
  fix, keeping the problem body (:mod:`.problems`) for callers that read it;
  a caller that knows what a 403 means for its request (Airbyte checks the
  caller's role in the workspace before it looks anything up, so an id of another
  workspace, or none at all, is 403 too) words it itself (``forbidden``);
* passes every text from outside through one :class:`~foundation.redaction.Redactor`.

The endpoints themselves are :mod:`.client`; the sync workflow is :mod:`.sync`.
"""

from __future__ import annotations

import logging
import time
import typing as t
from dataclasses import dataclass

import airbyte_api
import httpx
from airbyte_api import errors, models

from foundation.redaction import Redactor
from ingest.airbyte.auth import TokenProvider
from ingest.airbyte.errors import AirbyteAuthError, AirbyteError, AirbyteRequestFailed
from ingest.airbyte.problems import Problem
from ingest.airbyte.retry import RetryPolicy, describe_transport_error, is_retryable_status, retry_after_seconds
from ingest.airbyte.settings import AirbyteSettings

logger = logging.getLogger(__name__)

T = t.TypeVar("T")


class AirbyteTransport:
    """The HTTP client, the SDK on it, the token provider and the retry policy of one run."""

    def __init__(
        self,
        settings: AirbyteSettings,
        *,
        sleep: t.Callable[[float], None] = time.sleep,
        clock: t.Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.redact = Redactor(settings.secrets())
        self.retry = RetryPolicy(
            max_retries=settings.max_retries,
            backoff_seconds=settings.retry_backoff_seconds,
            sleep=sleep,
        )
        _quiet_httpx()
        self._http = httpx.Client(follow_redirects=True, timeout=settings.request_timeout_seconds)
        self.tokens = TokenProvider(settings, self.post_token_request, self.redact, clock=clock)
        self.sdk = airbyte_api.AirbyteAPI(
            server_url=settings.api_url,
            # A callable, so every request carries the current token; none at all with auth off.
            security=None if settings.auth_disabled else lambda: models.Security(bearer_auth=self.tokens.token()),
            client=self._http,
            timeout_ms=max(1, int(settings.request_timeout_seconds * 1000)),
        )

    def close(self) -> None:
        self._http.close()

    def post_token_request(self, url: str, body: dict[str, str | None]) -> httpx.Response:
        """``POST url`` with a JSON body, retried on network faults, 429 and 5xx; any other answer is returned.

        The token endpoint's 4xx is the token provider's to word (it never echoes the body: the one
        place a credential could plausibly come back).
        """
        what = f"Requesting an Airbyte access token from {url}"
        attempt = 0
        while True:
            retry_after = None
            try:
                response = self._http.post(
                    url,
                    json=body,
                    headers={"accept": "application/json"},
                    timeout=self.settings.request_timeout_seconds,
                )
            except httpx.TransportError as error:
                reason = self.redact(describe_transport_error(error))
            else:
                if not is_retryable_status(response.status_code):
                    return response
                reason = f"HTTP {response.status_code}"
                retry_after = retry_after_seconds(response.headers)
            self.retry.pause(attempt, what, reason, retry_after)
            attempt += 1

    def json_request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        body: t.Any = None,
        retry: bool = True,
        not_found: t.Callable[[], AirbyteError] | None = None,
        forbidden: t.Callable[[str], AirbyteError] | None = None,
    ) -> t.Any:
        """``method path`` below the API URL with a JSON body, answered with JSON, under :meth:`call`'s policy.

        For the set-up endpoints (:mod:`.reconcile`), whose ``configuration`` the SDK models as a union
        of hundreds of connector models: we send and read plain JSON instead. An error answer is raised as
        the SDK's own :class:`~airbyte_api.errors.SDKError`, so retries, 401/403 and problem bodies are
        handled exactly as for the SDK's operations.
        """
        url = self.settings.api_url + path
        what = f"{method} {path}"

        def operation() -> t.Any:
            headers = {"accept": "application/json"}
            if not self.settings.auth_disabled:
                headers["authorization"] = f"Bearer {self.tokens.token()}"
            response = self._http.request(method, url, params=query, json=body, headers=headers)
            if response.status_code >= 400:
                raise errors.SDKError("API error occurred", response)
            return json_body(response)

        return self.call(what, operation, retry=retry, not_found=not_found, forbidden=forbidden)

    def call(
        self,
        what: str,
        operation: t.Callable[[], T],
        *,
        retry: bool = True,
        lenient: bool = False,
        not_found: t.Callable[[], AirbyteError] | None = None,
        forbidden: t.Callable[[str], AirbyteError] | None = None,
    ) -> T:
        """Run one SDK operation with our timeout/retry/auth policy.

        ``lenient``: if the SDK cannot validate a 2xx body (e.g. a job status
        newer than the SDK), return a stand-in whose ``raw_response`` the
        caller parses itself, instead of failing the run. ``not_found`` (404) and
        ``forbidden`` (403; given the problem's words, e.g. "Caller does not have the
        required WORKSPACE_READER permissions…") raise the caller's own one-line error.
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
                    return t.cast(T, RawResult(error.raw_response))
                raise AirbyteError(f"{what}: unexpected response from Airbyte: {self.redact(error.cause)}") from None
            except errors.AirbyteAPIError as error:
                status = error.status_code
                if status in (401, 403):
                    if status == 401 and self.tokens.refreshable and not renewed_token:
                        logger.info("%s: HTTP 401; renewing the access token and trying once more", what)
                        self.tokens.invalidate()
                        renewed_token = True
                        continue
                    words = _error_text(error, _problem(error), self.redact)
                    if status == 403 and forbidden is not None and not self.settings.auth_disabled:
                        raise forbidden(words) from None
                    raise _refused(what, status, self.settings, f": {words}" if words else "") from None
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
class RawResult:
    """Stands in for an SDK response object whose body did not validate."""

    raw_response: httpx.Response


def _quiet_httpx() -> None:
    """httpx logs every request at INFO: one line per poll for hours. Keep
    those for ``-v`` (debug) runs only, unless someone configured httpx."""
    httpx_logger = logging.getLogger("httpx")
    if httpx_logger.level == logging.NOTSET and not logger.isEnabledFor(logging.DEBUG):
        httpx_logger.setLevel(logging.WARNING)


def json_body(response: httpx.Response) -> t.Any:
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
    """`` (words)`` from :func:`_error_text`, or nothing when the body has none."""
    text = _error_text(error, problem, redact)
    return f" ({text})" if text else ""


def _error_text(error: errors.AirbyteAPIError, problem: Problem, redact: Redactor) -> str:
    """A short reason from an error body: ``data.message`` first (the useful words of an
    Airbyte problem), then ``message``/``detail``/``title``, else the raw body."""
    text = problem.text
    if not text and error.body and not error.body.lstrip().startswith("{"):
        text = error.body.strip()
    text = redact(" ".join(text.split()))
    if len(text) > 300:
        text = text[:300] + "..."
    return text


def _refused(what: str, status: int, settings: AirbyteSettings, reason: str = "") -> AirbyteAuthError:
    if settings.auth_disabled:
        return AirbyteAuthError(
            f"{what}: Airbyte asks for authentication (HTTP {status}) but AIRBYTE_AUTH=none sends none: "
            "unset AIRBYTE_AUTH and set AIRBYTE_CLIENT_ID and AIRBYTE_CLIENT_SECRET."
        )
    return AirbyteAuthError(
        f"{what}: Airbyte refused the credentials (HTTP {status}{reason}). Check {_credential_names(settings)} "
        f"and that they may access {_target(settings)}."
    )


def _target(settings: AirbyteSettings) -> str:
    return f"connection {settings.connection_id}" if settings.connection_id else "the workspace (AIRBYTE_WORKSPACE_ID)"


def _credential_names(settings: AirbyteSettings) -> str:
    if settings.uses_client_credentials:
        return "AIRBYTE_CLIENT_ID and AIRBYTE_CLIENT_SECRET"
    return "AIRBYTE_API_TOKEN"
