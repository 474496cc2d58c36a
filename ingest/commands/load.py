"""``dvdrental ingest --via direct|airbyte``: one full load of bronze."""

from __future__ import annotations

import argparse

from ingest.settings import optional

VIA_ENV = "DVD_INGEST_VIA"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("ingest", help="full-load bronze (direct locally, Airbyte in production)")
    parser.add_argument(
        "--via",
        choices=("direct", "airbyte"),
        default=None,
        help=f"direct: read PostgreSQL into the local DuckDB warehouse; airbyte: trigger the Airbyte "
        f"connection and wait (default: ${VIA_ENV}, else direct)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(handler=_ingest)


def ingest_via() -> str:
    return optional(VIA_ENV, "direct") or "direct"


def run_ingest(via: str | None = None, progress: bool | None = None) -> int:
    """Run one ingest the configured way; returns rows loaded (direct) or synced (Airbyte)."""
    via = via or ingest_via()
    if via == "airbyte":
        from ingest.airbyte import run_sync

        result = run_sync()
        print(result.summary())
        return int(result.rows_synced or 0)
    from ingest.bronze import load_bronze
    from ingest.source import resolve_source_dsn

    load = load_bronze(resolve_source_dsn(), progress=progress)
    print(load.summary())
    return load.rows


def _ingest(args: argparse.Namespace) -> int:
    run_ingest(args.via, progress=False if args.no_progress else None)
    return 0
