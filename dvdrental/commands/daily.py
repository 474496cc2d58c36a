"""``dvdrental daily``: the one command a crontab or a scheduled CI job calls.

Lock, ingest (direct locally, Airbyte in production), ``sqlmesh run`` on prod,
janitor; one log file per run under ``logs/``; exit code 75 when another run
holds the lock. See :mod:`dvdrental.daily` and docs/operations.md.
"""

from __future__ import annotations

import argparse

from dvdrental.daily import run_daily
from dvdrental.options import accepted_deletion, execution_time
from ingest.run import VIA_ENV, VIAS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "daily", help="the scheduled run: lock, ingest, sqlmesh run on prod, janitor (one log per run)"
    )
    parser.add_argument(
        "--gateway",
        default=None,
        help="SQLMesh gateway (default: config.yaml's, `local`; production: databricks)",
    )
    parser.add_argument(
        "--via",
        choices=VIAS,
        default=None,
        help=f"how to ingest (default: ${VIA_ENV}, else direct)",
    )
    parser.add_argument(
        "--execution-time",
        type=execution_time,
        default=None,
        metavar="TIME",
        help="SQLMesh's execution time, deciding which intervals are due (default: now), e.g. '2026-01-02 01:00'",
    )
    parser.add_argument(
        "--accept-mass-deletion",
        type=accepted_deletion,
        action="append",
        default=[],
        metavar="TABLE:KEYS",
        help="accept, for this run only, a load the broken-load guard refused (a real mass deletion in the "
        "source): the table and its bronze key count, as the refused run printed them; repeatable",
    )
    parser.set_defaults(handler=_daily)


def _daily(args: argparse.Namespace) -> int:
    # No SQLMESH_GATEWAY set here for config.yaml: the context sets it only while it loads the
    # config (setting it for the process leaked the gateway into whatever ran next in-process).
    accepted = [pair for given in args.accept_mass_deletion for pair in given]
    run_daily(gateway=args.gateway, via=args.via, execution_time=args.execution_time, accept_mass_deletion=accepted)
    return 0
