"""Keeping secrets out of everything we print or log.

Error bodies and exception texts come from outside (HTTP servers, httpx) and
could in principle echo a credential back; every such text passes through a
:class:`Redactor` that knows the client secret, the static token and every
access token issued during the run.
"""

from __future__ import annotations

import threading

MASK = "***"


class Redactor:
    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = {s for s in secrets if s}

    def add(self, secret: str | None) -> None:
        if secret:
            with self._lock:
                self._secrets.add(secret)

    def __call__(self, text: object) -> str:
        result = str(text)
        with self._lock:
            # Longest first so a secret containing another is masked whole.
            for secret in sorted(self._secrets, key=len, reverse=True):
                result = result.replace(secret, MASK)
        return result
