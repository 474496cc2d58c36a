"""Alerts: every failure of the unattended pipeline reaches a person (docs/operations.md, "Alerts").

SQLMesh's own notification targets (``notification_targets`` and ``users`` in config.yaml, from
``DVD_ALERT_*`` variables) carry SQLMesh's events (``run_failure``, ``apply_failure``,
``audit_failure``, the last also to the failing model's owner). This package adds two things:

* :func:`guard_notifications` - a receiver that is down (connection refused, HTTP 500, an SMTP
  reject) never changes a run's outcome: SQLMesh raises from inside its run or its audit, we log
  one line instead (:mod:`dvdrental.alerts.delivery`); secrets are masked in what is sent;
* :func:`send_daily_alert` - ``dvdrental daily``'s own failures and warnings (ingest, the
  broken-load stop, the lock held, housekeeping) through the same targets, with the run id, the
  step, the table or model and the log file (:mod:`dvdrental.alerts.daily`).
"""

from dvdrental.alerts.daily import DailyAlert, send_daily_alert
from dvdrental.alerts.delivery import guard_notifications

__all__ = ["DailyAlert", "guard_notifications", "send_daily_alert"]
