"""``dvdrental demo``: the whole pipeline on the embedded default, end to end.

What ``make demo`` runs on a fresh machine: start the local PostgreSQL source
(restoring the sample the first time), full-load bronze, plan prod with
SQLMesh (build from empty the first time, only what changed afterwards), print
the five answers and write the dashboard. Every step is idempotent, so running
it again is safe and quick: no second restore, and bronze is replaced by a new
generation rather than appended to.
"""

from __future__ import annotations

import argparse
import time

from dvdrental.reports.answers import compute_answers
from dvdrental.reports.dashboard import write_dashboard
from dvdrental.warehouse.context import plan_prod
from ingest.run import run_ingest


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="source -> bronze -> silver/gold -> answers and dashboard, locally")
    parser.set_defaults(handler=_demo)


def _step(title: str) -> float:
    print(f"\n== {title}", flush=True)
    return time.monotonic()


def _demo(args: argparse.Namespace) -> int:
    started = _step("1/4 source and bronze: PostgreSQL -> bronze.raw_dvd_* (direct full load)")
    print(run_ingest("direct").summary)
    _step("2/4 transform: sqlmesh plan prod (silver and gold, audits, unit tests)")
    plan_prod()
    _step("3/4 the five answers (gold.report_rentals)")
    print("\n\n".join(answer.as_table() for answer in compute_answers()))
    _step("4/4 dashboard")
    path = write_dashboard()
    print(f"dashboard: {path}")
    print(f"\ndemo finished in {time.monotonic() - started:.1f}s")
    return 0
