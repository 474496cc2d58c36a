"""``dvdrental source start|stop|status``: the project's local PostgreSQL server."""

from __future__ import annotations

import argparse

from dvdrental.options import positive_int
from dvdrental.warehouse.state_store import STATE_DATABASE, provision_state_database
from ingest.source import SOURCE_DSN_ENV, LocalPostgres, configured_source_dsn
from ingest.source.scale import scale_database, with_database


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("source", help="start, stop or describe the local PostgreSQL source")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("start", help="start the server (first time: initdb and restore the sample)").set_defaults(
        handler=_start
    )
    actions.add_parser("stop", help="stop the server").set_defaults(handler=_stop)
    actions.add_parser("status", help="say whether it runs and print its DSN").set_defaults(handler=_status)
    state = actions.add_parser(
        "state",
        help="create a database for SQLMesh's state on this server and print the .env lines that move the "
        "local gateway's state there (an editor or `sqlmesh ui` then never holds the warehouse file)",
    )
    state.add_argument("--database", default=STATE_DATABASE, help=f"its name (default {STATE_DATABASE})")
    state.set_defaults(handler=_state)
    scale = actions.add_parser(
        "scale",
        help="build a scaled copy of the sample (rental/payment x N) in database dvdrental_x{N}, for benchmarks",
    )
    scale.add_argument("--factor", type=positive_int, required=True, help="multiply rental and payment by N (N >= 1)")
    scale.add_argument(
        "--source-db",
        default=None,
        help="database holding the sample to scale (default: the one in DVD_SOURCE_DSN, else dvdrental)",
    )
    scale.add_argument("--target-db", default=None, help="name of the scaled database (default: <source-db>_x{N})")
    scale.add_argument("--replace", action="store_true", help="rebuild it even if a complete copy exists")
    scale.set_defaults(handler=_scale)


def _start(args: argparse.Namespace) -> int:
    if configured_source_dsn():
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
    if configured_source_dsn():
        print(f"external source from {SOURCE_DSN_ENV} (not managed by this project)")
        return 0
    server = LocalPostgres()
    if not server.initialized:
        print("source not set up (run `dvdrental source start`)")
        return 1
    running = server.is_running()
    print(f"source {'running' if running else 'stopped'}: {server.dsn()}")
    return 0 if running else 1


def _state(args: argparse.Namespace) -> int:
    store, created = provision_state_database(LocalPostgres(), args.database)
    print(
        f"# SQLMesh state for the local gateway: database {store.database} on 127.0.0.1:{store.port} "
        f"({'created' if created else 'already there'}). Put these lines in .env (`dvdrental source state >> .env`) "
        "and build the warehouse afresh: state and tables must start together (docs/operations.md)."
    )
    for name, value in store.settings().items():
        print(f"{name}={value}")
    return 0


def _scale(args: argparse.Namespace) -> int:
    configured = configured_source_dsn()
    fallback = None
    if configured:
        dsn = with_database(configured, args.source_db) if args.source_db else configured
    else:
        server = LocalPostgres()
        server.start()
        dsn = server.dsn(args.source_db or "dvdrental")
        fallback = server.ensure_sample_restored
    target_dsn = scale_database(
        dsn, args.factor, target=args.target_db, replace=args.replace, log=print, restore_fallback=fallback
    )
    print(f"scaled source ready; load it with:\n  {SOURCE_DSN_ENV}='{target_dsn}' dvdrental ingest")
    return 0
