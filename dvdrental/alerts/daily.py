"""``dvdrental daily``'s own alerts: what failed, where, and where to read more.

A cron log nobody opens is not an alert. The daily run knows things SQLMesh's notifications do not:
that the ingest failed before any model ran, that the broken-load guard stopped a table, that
another run held the lock, that housekeeping failed after the data was refreshed. Each becomes
one message with the run id (the log file's stamp), the step, the table or model the error names,
what to do, and the log file, sent to the targets config.yaml configures for ``run_failure``
(the same Slack webhook and mailbox as SQLMesh's own alerts; none configured, none sent).
Delivery never changes the run's outcome (:func:`dvdrental.alerts.delivery.deliver`).
"""

from __future__ import annotations

import logging
import os
import socket
import typing as t
from dataclasses import dataclass
from pathlib import Path

from dvdrental.alerts.delivery import deliver
from foundation.errors import first_line
from foundation.paths import PROJECT_ROOT
from foundation.settings import optional, temporary_env

logger = logging.getLogger(__name__)

# The settings that configure any target (config.yaml's notification_targets and users).
ALERT_SETTINGS = ("DVD_ALERT_SLACK_WEBHOOK_URL", "DVD_ALERT_SMTP_HOST")
ALERT_EVENT = "run_failure"  # a target that wants SQLMesh's failed runs wants the daily run's too


@dataclass(frozen=True)
class DailyAlert:
    """One thing a person must hear about. ``failed`` False: the data is fine, housekeeping is not."""

    step: str  # settings, lock, ingest, transform, janitor
    message: str  # the error's own line: it names the table or model
    run_id: str | None  # the log file's stamp; None when the run was refused before it started
    log_file: Path | None
    failed: bool = True

    def text(self) -> str:
        outcome = "FAILED" if self.failed else "finished with a WARNING"
        lines = [
            f"dvdrental daily {outcome} at step {self.step} (host {socket.gethostname()})",
            self.message,
            f"run: {self.run_id or 'not started'}",
            f"log: {self.log_file or 'none (the run was refused before it started)'}",
        ]
        if not self.failed:
            lines.insert(2, "The data was refreshed; only housekeeping needs a look.")
        return "\n".join(lines)


def send_daily_alert(alert: DailyAlert, gateway: str | None = None) -> int:
    """Send ``alert`` to every configured target; return how many took it (failures are logged)."""
    if not any(optional(name) for name in ALERT_SETTINGS):
        return 0  # nothing configured: not even SQLMesh is loaded (the run may be failing inside its import)
    try:
        from sqlmesh.core.notification_target import NotificationStatus

        status = NotificationStatus.FAILURE if alert.failed else NotificationStatus.WARNING
        targets = _targets(gateway)
    except Exception as error:  # e.g. SIGTERM arrived while SQLMesh was being imported: the run's error stands
        logger.warning("alert not sent: %s", first_line(error))
        return 0
    sent = 0
    for target in targets:
        sent += deliver(target, target.send, status, alert.text())
    if sent:
        logger.info("alert sent to %d target(s)", sent)
    return sent


def _targets(gateway: str | None) -> list[t.Any]:
    """The configured targets that listen for failed runs (config.yaml's notification_targets)."""
    from sqlmesh.core.config import Config
    from sqlmesh.core.config.loader import load_configs

    # The run's gateway first; if its settings are what failed, the config without it (the alert
    # settings do not depend on the gateway).
    for chosen in dict.fromkeys((gateway or os.environ.get("SQLMESH_GATEWAY"), None)):
        try:
            with temporary_env(SQLMESH_GATEWAY=chosen):
                config = load_configs("config", Config, [PROJECT_ROOT])[PROJECT_ROOT]
            break
        except Exception as error:
            problem = first_line(error)
    else:
        logger.warning("alerts: cannot read the notification targets from config.yaml: %s", problem)
        return []
    return [
        target
        for target in config.notification_targets
        if target.is_configured and ALERT_EVENT in {event.value for event in target.notify_on}
    ]
