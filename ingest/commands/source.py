"""``dvdrental source start|stop|status``: the project's local PostgreSQL server."""

from __future__ import annotations

import argparse

from ingest.source import SOURCE_DSN_ENV, LocalPostgres
from ingest.settings import optional


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("source", help="start, stop or describe the local PostgreSQL source")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("start", help="start the server (first time: initdb and restore the sample)").set_defaults(handler=_start)
    actions.add_parser("stop", help="stop the server").set_defaults(handler=_stop)
    actions.add_parser("status", help="say whether it runs and print its DSN").set_defaults(handler=_status)


def _start(args: argparse.Namespace) -> int:
    if optional(SOURCE_DSN_ENV):
        print(f"{SOURCE_DSN_ENV} is set: ingest reads that server, nothing to start.")
        return 0
    server = LocalPostgres()
    dsn = server.start()
    print(f"source running: {dsn}")
    return 0


def _stop(args: argparse.Namespace) -> int:
    stopped = LocalPostgres().stop()
    print("source stopped" if stopped else "source was not running")
    return 0


def _status(args: argparse.Namespace) -> int:
    if optional(SOURCE_DSN_ENV):
        print(f"external source from {SOURCE_DSN_ENV} (not managed by this project)")
        return 0
    server = LocalPostgres()
    if not server.initialized:
        print("source not set up (run `dvdrental source start`)")
        return 1
    running = server.is_running()
    print(f"source {'running' if running else 'stopped'}: {server.dsn()}")
    return 0 if running else 1
