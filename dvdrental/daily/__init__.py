"""The daily run (lock, ingest, ``sqlmesh run`` on prod, janitor) and its per-run log."""

from dvdrental.daily.run import DailyResult, run_daily

__all__ = ["DailyResult", "run_daily"]
