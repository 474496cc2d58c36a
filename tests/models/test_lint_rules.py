"""The project's lint rules (linter/project_rules.py) hold every model to models/README.md.

One scratch copy of the project gets four bad models, each missing exactly one thing the
rulebook asks for (an owner, a grain, a description, a column description), and one real
`sqlmesh lint` runs over it: it must exit non-zero, name the one project rule each bad model
breaks (and no other project rule), and report nothing at all for the project's own models.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.warehouses import copy_project

PROJECT_RULES = {"nomissingowner", "nomissinggrain", "nomissingdescription", "nomissingcolumndescriptions"}

GOOD = {
    "owner": "  owner 'data-engineering',\n",
    "grain": "  grain rental_id,\n",
    "description": "  description 'A scratch table.',\n",
}
BAD_MODELS = {
    # model name: (the rule it must break, the MODEL properties it has, its final SELECT)
    "lint_no_owner": (
        "nomissingowner",
        ("grain", "description"),
        "  rental_id, -- The rental.\n  1 AS copies -- One.\n",
    ),
    "lint_no_grain": (
        "nomissinggrain",
        ("owner", "description"),
        "  rental_id, -- The rental.\n  1 AS copies -- One.\n",
    ),
    "lint_no_description": (
        "nomissingdescription",
        ("owner", "grain"),
        "  rental_id, -- The rental.\n  1 AS copies -- One.\n",
    ),
    "lint_no_column_comment": (
        "nomissingcolumndescriptions",
        ("owner", "grain", "description"),
        "  rental_id, -- The rental.\n  1 AS copies\n",
    ),
}

pytestmark = pytest.mark.slow  # `sqlmesh lint` on a project copy, in a subprocess


def _bad_model(name: str, properties: tuple[str, ...], select: str) -> str:
    return (
        f"MODEL (\n  name gold.{name},\n  kind FULL,\n  cron '@daily',\n"
        + "".join(GOOD[p] for p in properties)
        + "  audits (not_null(columns := (rental_id)))\n);\n\n"
        + f"SELECT\n{select}FROM silver.dvd_rental\n"
    )


def _violations(output: str) -> dict[str, set[str]]:
    """`sqlmesh lint`'s report as {model file name: names of the rules it breaks}."""
    found: dict[str, set[str]] = {}
    current = None
    for line in output.splitlines():
        header = re.match(r"Linter \*\*(?:errors|warnings)\*\* for `(.+)`:", line.strip())
        if header:
            current = found.setdefault(Path(header.group(1)).name, set())
        elif current is not None and (rule := re.match(r"- (\w+):", line.strip())):
            current.add(rule.group(1))
    return found


@pytest.fixture(scope="module")
def lint_report(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    project = copy_project(tmp_path_factory.mktemp("lint") / "project")
    for name, (_, properties, select) in BAD_MODELS.items():
        (project / "models" / "gold" / f"{name}.sql").write_text(_bad_model(name, properties, select))
    env = {**os.environ, "DVD_WAREHOUSE_PATH": str(project / "warehouse.duckdb"), "COLUMNS": "400"}
    sqlmesh = Path(sys.executable).with_name("sqlmesh")
    return subprocess.run([str(sqlmesh), "lint"], cwd=project, env=env, capture_output=True, text=True, timeout=300)


def test_lint_fails_on_the_bad_models(lint_report: subprocess.CompletedProcess[str]) -> None:
    assert lint_report.returncode != 0, lint_report.stdout + lint_report.stderr


@pytest.mark.parametrize("name", sorted(BAD_MODELS))
def test_each_missing_item_is_named_by_its_rule(lint_report: subprocess.CompletedProcess[str], name: str) -> None:
    rule = BAD_MODELS[name][0]
    broken = _violations(lint_report.stdout + lint_report.stderr).get(f"{name}.sql", set())
    assert broken & PROJECT_RULES == {rule}, lint_report.stdout + lint_report.stderr


def test_the_projects_own_models_lint_clean(lint_report: subprocess.CompletedProcess[str]) -> None:
    reported = set(_violations(lint_report.stdout + lint_report.stderr))
    assert reported, lint_report.stdout + lint_report.stderr  # the parser read the report
    assert reported <= {f"{name}.sql" for name in BAD_MODELS}, lint_report.stdout + lint_report.stderr
