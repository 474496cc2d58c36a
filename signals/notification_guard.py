"""Not a signal: loaded here because SQLMesh imports every file under ``signals/`` with the project.

That makes a bare ``sqlmesh run`` from cron, ``sqlmesh plan`` and the editor's language server get
the same guard as ``dvdrental``'s own contexts: a notification receiver that is down is logged,
never the reason a run fails (:mod:`dvdrental.alerts.delivery`).
"""

from dvdrental.alerts import guard_notifications

guard_notifications()
