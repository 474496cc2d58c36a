"""Delivering a notification without letting the receiver decide the run's outcome.

SQLMesh 0.236 calls each notification target inline (``NotificationTargetManager.notify``): from
``Context.run`` when a run fails and from the scheduler when an audit fails. A Slack webhook that
answers 500 or an SMTP server that refuses the connection raises there, so a dead receiver turned
a failed audit into a different error and a warning-only audit into a failed run. SQLMesh offers
no option for it, so :func:`guard_notifications` wraps the one method every event goes through
(``_get_notification_function``): each call is tried, a failure is logged as one line (a Slack
webhook's error answer too, which SQLMesh drops unread), and every
text handed to a target passes through the project's redactor first (a traceback may quote a
connection string). It is installed by every context this project opens and, for a bare
``sqlmesh``, by ``signals/notification_guard.py``, which SQLMesh loads with the project.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import typing as t

from foundation.errors import first_line
from foundation.redaction import Redactor

logger = logging.getLogger(__name__)

# Values that must never travel in a notification: every setting that holds a secret.
SECRET_SETTINGS = (
    "DVD_ALERT_SLACK_WEBHOOK_URL",
    "DVD_ALERT_SMTP_PASSWORD",
    "DATABRICKS_TOKEN",
    "DATABRICKS_CLIENT_SECRET",
    "SQLMESH_STATE_PASSWORD",
    "AIRBYTE_CLIENT_SECRET",
    "AIRBYTE_SOURCE_PASSWORD",
    "PGPASSWORD",
)

_GUARDED = "_dvdrental_guarded"


def redactor() -> Redactor:
    """A redactor for the secrets set in this process (their values, read now)."""
    secrets = [os.environ.get(name, "") for name in SECRET_SETTINGS]
    # The source DSN's password, in either form: postgresql://user:password@host/db or password=...
    dsn = os.environ.get("DVD_SOURCE_DSN", "")
    secrets += re.findall(r"://[^:/@]*:([^@]+)@", dsn) + re.findall(r"\bpassword=(\S+)", dsn)
    return Redactor(secrets)


def deliver(target: t.Any, send: t.Callable[..., None], *args: t.Any, **kwargs: t.Any) -> bool:
    """Call ``send`` (a target's notify or send method); True if it went out, False (logged) if not."""
    mask = redactor()
    # Plain texts only: a NotificationStatus is a str too, and must stay what it is.
    args = tuple(mask(a) if type(a) is str else a for a in args)
    kwargs = {k: mask(v) if type(v) is str else v for k, v in kwargs.items()}
    try:
        send(*args, **kwargs)
    except Exception as error:  # a receiver's failure is never the run's failure
        kind = getattr(target, "type_", type(target).__name__)
        logger.warning("alert not delivered (%s target): %s", kind, mask(first_line(error) or type(error).__name__))
        return False
    return True


def guard_notifications() -> None:
    """Make every SQLMesh notification best-effort and redacted (idempotent; see the module doc)."""
    from sqlmesh.core.notification_target import NotificationTargetManager

    original = NotificationTargetManager.__dict__.get("_get_notification_function")
    if original is None:  # SQLMesh changed its internals: fail loudly rather than send unguarded
        raise RuntimeError(
            "sqlmesh.core.notification_target.NotificationTargetManager has no _get_notification_function: "
            "dvdrental.alerts.delivery needs updating for this SQLMesh version"
        )
    if getattr(original, _GUARDED, False):
        return

    @functools.wraps(original)
    def guarded(self: t.Any, target: t.Any, event: t.Any) -> t.Callable[..., bool]:
        return functools.partial(deliver, target, original(self, target, event))

    setattr(guarded, _GUARDED, True)
    NotificationTargetManager._get_notification_function = guarded  # type: ignore[method-assign,assignment]
    _refuse_unanswered_webhooks()


def _refuse_unanswered_webhooks() -> None:
    """Make a Slack webhook's error answer an error: SQLMesh drops the response (an HTTP 500 went unseen)."""
    from sqlmesh.core.notification_target import SlackWebhookNotificationTarget

    def send_checked(self: t.Any, composed: t.Any) -> None:
        response = self.client.send(
            text=composed["text"], blocks=composed["blocks"], attachments=composed["attachments"]
        )
        if response.status_code != 200:
            raise ConnectionError(f"the Slack webhook answered HTTP {response.status_code}: {response.body}")

    SlackWebhookNotificationTarget._send_slack_message = send_checked  # type: ignore[method-assign]
