"""The alert settings, checked before a run starts (config.yaml renders the same rules for ``sqlmesh``).

None set: no alerts (a laptop). A Slack incoming webhook: ``DVD_ALERT_SLACK_WEBHOOK_URL``. E-mail:
``DVD_ALERT_SMTP_HOST`` and, once it is set, the login, sender and recipients SQLMesh's SMTP target
needs (it speaks SMTP over TLS, port 465 by default); owners' mailboxes in
``DVD_ALERT_EMAIL_DATA_ENGINEERING`` / ``DVD_ALERT_EMAIL_ANALYTICS_ENGINEERING``. A setting SQLMesh
would reject inside its config (or silently skip: a target without a login is "not configured")
is refused here with one line naming it.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from foundation.errors import ConfigError
from foundation.settings import optional

SLACK_WEBHOOK_ENV = "DVD_ALERT_SLACK_WEBHOOK_URL"
SMTP_HOST_ENV = "DVD_ALERT_SMTP_HOST"
SMTP_PORT_ENV = "DVD_ALERT_SMTP_PORT"
SMTP_LOGIN_ENVS = ("DVD_ALERT_SMTP_USER", "DVD_ALERT_SMTP_PASSWORD", "DVD_ALERT_SMTP_SENDER")
RECIPIENTS_ENV = "DVD_ALERT_SMTP_RECIPIENTS"
OWNER_MAILBOX_ENVS = ("DVD_ALERT_EMAIL_DATA_ENGINEERING", "DVD_ALERT_EMAIL_ANALYTICS_ENGINEERING")
ADDRESS = re.compile(r"[^@\s;,<>]+@[^@\s;,<>]+")  # one plain address: no name, no other separator
ALERTS_DOC = 'see docs/operations.md, "Alerts"'


def check_alert_settings() -> None:
    """Raise :class:`ConfigError` naming the first alert setting that is set but unusable."""
    webhook = optional(SLACK_WEBHOOK_ENV)
    if webhook is not None:
        parts = urlsplit(webhook)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ConfigError(
                f"{SLACK_WEBHOOK_ENV} is not a webhook address (it must start with https://; {ALERTS_DOC})."
            )
    if optional(SMTP_HOST_ENV) is None:
        return
    port = optional(SMTP_PORT_ENV, "465") or "465"
    if not port.strip().isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{SMTP_PORT_ENV}={port!r} is not a port number (465 for SMTP over TLS; {ALERTS_DOC}).")
    for name in SMTP_LOGIN_ENVS:
        if optional(name) is None:
            raise ConfigError(f"{name} is not set: e-mail alerts need it once {SMTP_HOST_ENV} is set ({ALERTS_DOC}).")
    _addresses(RECIPIENTS_ENV, required=True)
    for name in OWNER_MAILBOX_ENVS:
        _addresses(name, required=False)


def _addresses(name: str, required: bool) -> list[str]:
    found = [address.strip() for address in (optional(name) or "").split(",") if address.strip()]
    for address in found:
        if not ADDRESS.fullmatch(address):
            raise ConfigError(f"{name} must list e-mail addresses separated by commas ({address!r} is not one).")
    if required and not found:
        raise ConfigError(f"{name} is not set: e-mail alerts need at least one address to send to ({ALERTS_DOC}).")
    return found
