"""The ``dvdrental`` command: one entry point with a subcommand per job.

Each command lives in its own module and registers itself through a
``register(subparsers)`` function listed in :data:`COMMAND_MODULES`; this
file only wires them up and turns :class:`PipelineError` into a one-line
message and an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import typing as t

from foundation.errors import PipelineError
from foundation.signals import EXIT_TERMINATED, Terminated, sigterm_as_interrupt

logger = logging.getLogger(__name__)

# Modules that define subcommands, in the order `dvdrental --help` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "dvdrental.commands.demo",
    "dvdrental.commands.source",
    "dvdrental.commands.ingest",
    "dvdrental.commands.airbyte",
    "dvdrental.commands.answers",
    "dvdrental.commands.daily",
    "dvdrental.commands.plan_diff",
    "dvdrental.commands.dashboard",
    "dvdrental.commands.superset",
    "dvdrental.commands.doctor",
    "dvdrental.commands.databricks",
)


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad option is one line (``error: ...``) like every other error, exit 2."""

    def error(self, message: str) -> t.NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dvdrental",
        description="DVD rental pipeline: local source, bronze ingest, SQLMesh transforms, answers.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    _describe_from_help(parser)
    return parser


def _describe_from_help(parser: argparse.ArgumentParser) -> None:
    """Give every (sub)command without a ``description`` its one-line ``help`` as one.

    argparse shows ``help`` only in the parent's list; a command's own ``--help`` page
    would otherwise open with nothing but usage and options. Done here, once, so a new
    command module cannot forget it.
    """
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {choice.dest: choice.help for choice in action._choices_actions}
        for name, sub in action.choices.items():
            text = helps.get(name)
            if not sub.description and text:
                sub.description = text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")
            _describe_from_help(sub)


def main(argv: t.Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _separate_logs_from_results()
    for package in ("ingest", "dvdrental"):
        logging.getLogger(package).setLevel(logging.DEBUG if args.verbose else logging.INFO)
    try:
        with sigterm_as_interrupt():
            return int(args.handler(args) or 0)
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except Terminated:
        print("error: terminated (SIGTERM); nothing half-done was kept", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


def _separate_logs_from_results() -> None:
    """Log records (with their timestamps) go to stderr, results to stdout, in the order they happen.

    Our own progress at INFO; libraries (SQLMesh, httpx) only when they warn. stdout is made
    line-buffered: piped (``make demo | tee``, cron) it would otherwise be flushed in blocks and
    land after log lines written later.
    """
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)
    logging.basicConfig(
        level=logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=[logging.StreamHandler(sys.stderr)],
    )


if __name__ == "__main__":
    sys.exit(main())
