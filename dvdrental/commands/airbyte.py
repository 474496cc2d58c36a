"""``dvdrental airbyte``: operate the Airbyte connection that writes bronze.

``check`` validates settings, credentials and the connection contract
without starting anything (safe to run any time, e.g. after editing the
connection in the Airbyte UI). ``sync`` runs the same sync as
``dvdrental ingest --via airbyte`` without any follow-up steps; it exists so
the Airbyte leg can be run and debugged on its own.
"""

from __future__ import annotations

import argparse
import logging

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "airbyte",
        help="check or run the Airbyte connection that loads bronze",
        description="Operate the Airbyte connection (PostgreSQL -> Databricks bronze). See docs/airbyte.md.",
    )
    actions = parser.add_subparsers(dest="airbyte_command", metavar="ACTION", required=True)

    check = actions.add_parser(
        "check",
        help="validate settings, credentials and the connection; starts no sync",
    )
    check.set_defaults(handler=_check)

    sync = actions.add_parser(
        "sync",
        help="start (or attach to) the connection's sync and wait for it",
    )
    sync.set_defaults(handler=_sync)


def _check(args: argparse.Namespace) -> int:
    from ingest.airbyte import check_connection  # the Airbyte SDK loads slowly: only for this command

    print(check_connection())
    return 0


def _sync(args: argparse.Namespace) -> int:
    from ingest.airbyte import run_sync  # the Airbyte SDK loads slowly: only for this command

    result = run_sync()
    print(result.summary())
    return 0
