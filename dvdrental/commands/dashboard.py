"""``dvdrental dashboard``: write the five answers as one self-contained HTML file."""

from __future__ import annotations

import argparse

from dvdrental.options import output_file
from dvdrental.reports.dashboard import write_dashboard


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "dashboard", help="write artifacts/dashboard.html: the five answers as charts, freshness, rows per layer"
    )
    parser.add_argument("--gateway", default=None, help="SQLMesh gateway to read (default: config.yaml's)")
    parser.add_argument(
        "--output", type=output_file, default=None, help="where to write it (default: artifacts/dashboard.html)"
    )
    parser.set_defaults(handler=_dashboard)


def _dashboard(args: argparse.Namespace) -> int:
    path = write_dashboard(args.output, gateway=args.gateway)
    print(f"dashboard written: {path}")
    return 0
