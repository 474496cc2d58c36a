"""``dvdrental ingest --via direct|airbyte``: one full load of bronze."""

from __future__ import annotations

import argparse

from ingest.run import VIA_ENV, VIAS, run_ingest


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ingest",
        help="full-load bronze (direct locally, Airbyte in production)",
        description="One full load of bronze: the direct loader into the local DuckDB warehouse, or a sync of "
        "the Airbyte connection (production). A failed load leaves the previous bronze intact.",
    )
    parser.add_argument(
        "--via",
        choices=VIAS,
        default=None,
        help=f"direct: read PostgreSQL into the local DuckDB warehouse; airbyte: trigger the Airbyte "
        f"connection and wait (default: ${VIA_ENV}, else direct)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(handler=_ingest)


def _ingest(args: argparse.Namespace) -> int:
    print(run_ingest(args.via, progress=False if args.no_progress else None).summary)
    return 0
