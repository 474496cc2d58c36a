"""``dvdrental answers``: print the five business answers as tables."""

from __future__ import annotations

import argparse

from dvdrental.reports.answers import compute_answers


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("answers", help="print the five business answers from gold.report_rentals")
    parser.add_argument("--gateway", default=None, help="SQLMesh gateway to read (default: config.yaml's)")
    parser.set_defaults(handler=_answers)


def _answers(args: argparse.Namespace) -> int:
    print("\n\n".join(answer.as_table() for answer in compute_answers(args.gateway)))
    return 0
