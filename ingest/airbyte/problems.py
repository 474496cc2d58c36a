"""Airbyte's error bodies ("problems"), read the way its public API server writes them.

The public API answers an error with a problem JSON (airbytehq/airbyte-platform,
``airbyte-api/problems-api/src/main/openapi/api-problems.yaml``): ``type``, ``title``,
``status``, a generic ``detail`` and, for most problems, ``data.message`` with the useful
text. Two different problems share HTTP 409 on ``POST /jobs``
(``airbyte-server/.../publicapi/errorHandlers/ConfigClientErrorHandler.kt``):

* ``try-again-later`` (detail "Please try again later."): the connection's workflow is
  already running, ``data.message`` "A sync is already running for: <connection id>";
* ``state-conflict`` (detail "State conflict"): any other refusal, ``data.message``
  "Could not fulfill request". The server sends it for an inactive connection
  (``SchedulerHandler.submitManualSyncToWorker``: "Can only sync an active connection")
  and when the job it waits for has not appeared within its own 60 s
  (``TemporalClient.START_MANUAL_SYNC_JOB_ID_WAIT_TIMEOUT_MS``).

So the status code alone does not say "a sync is running"; the title does.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

TRY_AGAIN_LATER = "try-again-later"
STATE_CONFLICT = "state-conflict"


@dataclass(frozen=True)
class Problem:
    """The parts of an error body we act on or report; all optional (a proxy may answer)."""

    title: str | None = None
    type: str | None = None
    detail: str | None = None
    message: str | None = None  # data.message, else a top-level "message"

    @property
    def is_try_again_later(self) -> bool:
        return self._named(TRY_AGAIN_LATER)

    @property
    def is_state_conflict(self) -> bool:
        return self._named(STATE_CONFLICT)

    @property
    def text(self) -> str:
        """The most useful words: ``data.message`` before the generic ``detail``/``title``."""
        for candidate in (self.message, self.detail, self.title):
            if candidate and candidate.strip():
                return " ".join(candidate.split())
        return ""

    def _named(self, name: str) -> bool:
        # The title is the name; the type is a URL ending in it (".../errors#409-state-conflict").
        return self.title == name or bool(self.type and self.type.endswith(name))

    @classmethod
    def from_json(cls, data: t.Any) -> Problem:
        if not isinstance(data, dict):
            return cls()
        nested = data.get("data")
        message = nested.get("message") if isinstance(nested, dict) else None
        if not isinstance(message, str):
            message = data.get("message") if isinstance(data.get("message"), str) else None
        return cls(
            title=_str(data.get("title")),
            type=_str(data.get("type")),
            detail=_str(data.get("detail")),
            message=message,
        )


def _str(value: t.Any) -> str | None:
    return value if isinstance(value, str) else None
