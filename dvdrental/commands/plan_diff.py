"""``dvdrental plan-diff``: a Markdown report of what the working tree's models change against prod."""

from __future__ import annotations

import argparse

from dvdrental.options import git_ref, output_file


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plan-diff",
        help="write artifacts/plan-diff.md: what the models' changes do against prod (applies nothing to prod)",
    )
    parser.add_argument("--gateway", default=None, help="SQLMesh gateway (default: config.yaml's)")
    parser.add_argument(
        "--output", type=output_file, default=None, help="where to write it (default: artifacts/plan-diff.md)"
    )
    parser.add_argument("--print", dest="show", action="store_true", help="also print the report")
    parser.add_argument(
        "--base-ref",
        type=git_ref,
        default=None,
        metavar="REF",
        help="first build prod from this git ref's models on a scratch warehouse (bronze from the "
        "configured source), then report the working tree against it: what CI runs",
    )
    parser.set_defaults(handler=_plan_diff)


def _plan_diff(args: argparse.Namespace) -> int:
    from dvdrental.reports.plan_diff import (  # lazy: fast --help
        write_plan_diff,
        write_plan_diff_against_ref,
    )

    if args.base_ref:
        path, report = write_plan_diff_against_ref(args.base_ref, args.output, progress=_say)
    else:
        path, report = write_plan_diff(args.output, gateway=args.gateway)
    if args.show:
        print(report.markdown)
    print(f"plan diff written: {path}")
    return 0


def _say(line: str) -> None:
    print(line, flush=True)
