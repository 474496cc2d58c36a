"""``dvdrental airbyte``: operate the Airbyte connection that writes bronze.

``check`` validates settings, credentials and the connection contract
without starting anything (safe to run any time, e.g. after editing the
connection in the Airbyte UI). ``sync`` runs the same sync as
``dvdrental ingest --via airbyte`` without any follow-up steps; it exists so
the Airbyte leg can be run and debugged on its own. ``plan`` prints how the
workspace differs from the set-up described in ``ingest/airbyte/desired.py``
(one line per field, or "no changes"); ``apply`` creates or updates the source,
the destination and the connection to match (:mod:`ingest.airbyte.reconcile`).
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

    plan = actions.add_parser(
        "plan",
        help="show how the workspace differs from the set-up described in the repository; changes nothing",
    )
    plan.set_defaults(handler=_plan)

    apply = actions.add_parser(
        "apply",
        help="create or update the source, destination and connection to match the described set-up",
    )
    apply.set_defaults(handler=_apply)


def _check(args: argparse.Namespace) -> int:
    from ingest.airbyte import check_connection  # the Airbyte SDK loads slowly: only for this command

    print(check_connection())
    return 0


def _sync(args: argparse.Namespace) -> int:
    from ingest.airbyte import run_sync  # the Airbyte SDK loads slowly: only for this command

    result = run_sync()
    print(result.summary())
    return 0


def _plan(args: argparse.Namespace) -> int:
    from ingest.airbyte.reconcile import plan_setup

    for line in plan_setup():
        print(line)
    return 0


def _apply(args: argparse.Namespace) -> int:
    from ingest.airbyte.reconcile import apply_setup

    apply_setup(print)  # each line as it is done: a failure part way still shows what was made
    return 0
