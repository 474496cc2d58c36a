"""Every ``dvdrental <command> [<action>] --help`` opens with a line saying what the command does.

A newcomer reads ``--help`` before README: a page with only ``usage:`` and ``options:`` tells
them nothing. The commands are found from the parser itself, so a new one is covered too.
"""

from __future__ import annotations

import argparse

import pytest

import dvdrental.commands as cli


def _command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths.append((*prefix, name))
                paths.extend(_command_paths(sub, (*prefix, name)))
    return paths


COMMANDS = _command_paths(cli.build_parser())


def test_every_command_is_found() -> None:
    names = {path[0] for path in COMMANDS}
    assert {"demo", "source", "ingest", "answers", "daily", "doctor", "dashboard", "plan-diff", "airbyte"} <= names
    assert ("source", "scale") in COMMANDS and ("airbyte", "check") in COMMANDS


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_help_has_a_description_line(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*path, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    usage, _, rest = text.partition("\n\n")
    assert usage.startswith(f"usage: dvdrental {' '.join(path)}")
    description = rest.split("\n\n")[0].strip()
    # The paragraph after the usage is the description, not already the options list.
    assert description and not description.startswith(("options:", "positional arguments:")), text
    assert len(description.split()) >= 3, text
