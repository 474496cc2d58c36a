"""docs/setup.md, the page a new team follows from zero to the first daily run, names only what exists.

Every ``dvdrental …`` command on it (in code blocks and in backticks) must parse with the real command
line, every ``--gateway`` it gives ``sqlmesh`` must be one the project knows, every relative link must point
at a file that exists and, with an anchor, at a heading there; README links to the page. A renamed command,
flag or heading fails here instead of in a new team's first hour.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

import dvdrental.commands as cli
from foundation.paths import PROJECT_ROOT

PAGE = PROJECT_ROOT / "docs" / "setup.md"


def _commands(text: str, program: str) -> list[str]:
    """``program …`` invocations: lines of fenced code blocks and inline code spans."""
    found: list[str] = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith(program + " "):
                found.append(line)
    without_blocks = re.sub(r"```.*?```", "", text, flags=re.S)
    found += [span for span in re.findall(r"`([^`\n]+)`", without_blocks) if span.startswith(program + " ")]
    return found


def _argv(command: str) -> list[str]:
    words = shlex.split(command)[1:]
    if ">" in words:  # a redirection is the shell's, not the command's
        words = words[: words.index(">")]
    return words


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def _anchors(markdown: Path) -> set[str]:
    return {_slug(line.lstrip("#")) for line in markdown.read_text().splitlines() if line.startswith("#")}


TEXT = PAGE.read_text()
DVDRENTAL = _commands(TEXT, "dvdrental")


def test_the_page_has_every_step() -> None:
    wanted = [
        ("doctor",),
        ("airbyte", "plan"),
        ("airbyte", "apply"),
        ("databricks", "grants"),
        ("airbyte", "sync"),
        ("superset", "export-bundle"),
        ("daily",),
    ]
    invoked = [tuple(_argv(command)) for command in DVDRENTAL]
    for step in wanted:
        assert any(argv[: len(step)] == step for argv in invoked), step
    assert "sqlmesh --gateway databricks plan" in TEXT


@pytest.mark.parametrize("command", sorted(set(DVDRENTAL)))
def test_every_dvdrental_command_parses(command: str) -> None:
    try:
        cli.build_parser().parse_args(_argv(command))
    except SystemExit as exit_info:  # argparse's "unrecognized arguments" / "invalid choice"
        pytest.fail(f"docs/setup.md: `{command}` does not parse (exit {exit_info.code})")


def test_every_sqlmesh_gateway_exists() -> None:
    parser = cli.build_parser()
    doctor = next(
        sub
        for action in parser._actions
        if hasattr(action, "choices") and isinstance(action.choices, dict)
        for name, sub in action.choices.items()
        if name == "doctor"
    )
    gateways = next(a.choices for a in doctor._actions if "--gateway" in a.option_strings)
    used = [m.group(1) for c in _commands(TEXT, "sqlmesh") if (m := re.search(r"--gateway (\S+)", c))]
    assert used and set(used) <= set(gateways), (used, gateways)


def test_every_link_points_at_something() -> None:
    for target in re.findall(r"\]\(([^)\s]+)\)", TEXT):
        if "://" in target:
            continue
        path, _, anchor = target.partition("#")
        file = (PAGE.parent / path).resolve() if path else PAGE
        assert file.exists(), f"docs/setup.md links to {target}: no such file"
        if anchor:
            assert anchor in _anchors(file), f"docs/setup.md links to {target}: no such heading"


def test_the_daily_workflow_runs_the_documented_command() -> None:
    workflow = (PROJECT_ROOT / ".github" / "workflows" / "daily.yml").read_text()
    assert "dvdrental daily --gateway databricks" in workflow and "DVD_INGEST_VIA: airbyte" in workflow


def test_the_dashboard_step_runs_what_the_publish_workflow_runs() -> None:
    """Step 6's preset-cli command is the workflow's, flag for flag (the local Superset test runs the same flags)."""
    from tests.app.superset.test_bundle import SYNC_FLAGS  # what the local Superset test runs

    def sync(text: str) -> list[str]:
        found = re.findall(
            r"(\S*/preset-cli --workspaces\S* superset sync native .*?--disallow-edits)", " ".join(text.split())
        )
        assert len(found) == 1, found
        return found[0].split()

    page, workflow = sync(TEXT), sync((PROJECT_ROOT / ".github" / "workflows" / "dashboard.yml").read_text())
    assert page == workflow
    assert page[page.index("native") + 1] == "dashboards/bundle"
    assert set(SYNC_FLAGS) <= set(page)


def test_readme_links_the_page() -> None:
    assert "(docs/setup.md)" in (PROJECT_ROOT / "README.md").read_text()
