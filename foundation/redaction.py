"""Keeping secrets out of everything we print or log: the project's one redactor.

Error bodies and exception texts come from outside (HTTP servers, httpx, database drivers)
and could in principle echo a credential back; every such text passes through a
:class:`Redactor` that knows the secrets in play. The Airbyte client masks them as ``***``
(and adds every access token issued during the run); ``dvdrental doctor`` names the setting
instead (``$DATABRICKS_TOKEN``), so a user sees which value leaked into a driver message.
"""

from __future__ import annotations

import threading
import typing as t

MASK = "***"


class Redactor:
    """Replaces each known secret in a text by its mask (``***`` unless given one)."""

    def __init__(self, secrets: t.Iterable[str] = (), masks: t.Mapping[str, str] | None = None) -> None:
        self._lock = threading.Lock()
        self._masks: dict[str, str] = {s: MASK for s in secrets if s}
        self._masks.update({s: m for s, m in (masks or {}).items() if s})

    def add(self, secret: str | None, mask: str = MASK) -> None:
        if secret:
            with self._lock:
                self._masks[secret] = mask

    def __call__(self, text: object) -> str:
        result = str(text)
        with self._lock:
            # Longest first so a secret containing another is masked whole.
            for secret in sorted(self._masks, key=len, reverse=True):
                result = result.replace(secret, self._masks[secret])
        return result
