"""When and how long to wait before trying an HTTP call again.

Only faults that say "try later" are retried: connection errors, timeouts,
429 and 5xx. The wait grows exponentially (with jitter, so parallel runs do
not stampede) unless the server names one in ``Retry-After``, which wins.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
import typing as t
from dataclasses import dataclass, field

import httpx

from ingest.airbyte.errors import AirbyteError

logger = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUS or status >= 500


def retry_after_seconds(headers: t.Mapping[str, str] | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: either a number or an HTTP date."""
    if not headers:
        return None
    raw = headers.get("retry-after") or headers.get("Retry-After")
    if not raw:
        return None
    raw = raw.strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        logger.debug("Ignoring unparseable Retry-After header %r", raw)
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def describe_transport_error(error: BaseException) -> str:
    """Short, secret-free words for a network fault (httpx texts hold only the URL)."""
    kind = {
        httpx.ConnectError: "cannot connect",
        httpx.ConnectTimeout: "connect timed out",
        httpx.ReadTimeout: "read timed out",
        httpx.WriteTimeout: "write timed out",
        httpx.PoolTimeout: "connection pool timed out",
        httpx.RemoteProtocolError: "connection dropped",
        httpx.ReadError: "connection reset",
    }
    for cls in type(error).__mro__:
        if cls in kind:
            detail = str(error)
            return f"{kind[cls]} ({detail})" if detail else kind[cls]
    return f"{type(error).__name__}: {error}"


@dataclass
class RetryPolicy:
    max_retries: int = 5
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0
    # A server asking for more than this is treated as "down for now".
    max_retry_after_seconds: float = 600.0
    sleep: t.Callable[[float], None] = field(default=time.sleep, repr=False)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_retry_after_seconds)
        ceiling = min(self.max_backoff_seconds, self.backoff_seconds * (2**attempt))
        return ceiling * (0.5 + random.random() / 2)

    def pause(self, attempt: int, what: str, reason: str, retry_after: float | None = None) -> None:
        """Sleep before retry ``attempt + 1``, or raise if retries are used up."""
        if attempt >= self.max_retries:
            raise AirbyteError(
                f"{what} failed after {attempt + 1} attempt(s); last error: {reason}. "
                f"Check AIRBYTE_API_URL and the network, or try again later."
            )
        wait = self.delay(attempt, retry_after)
        logger.warning(
            "%s failed (%s); retry %d of %d in %.2fs%s",
            what,
            reason,
            attempt + 1,
            self.max_retries,
            wait,
            " (server's Retry-After)" if retry_after is not None else "",
        )
        self.sleep(wait)
