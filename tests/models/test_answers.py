"""The five answers, two independent ways, must agree row by row.

1. `dvdrental answers`' definitions (dvdrental/reports/answers.py) on a warehouse built from the
   sample: bronze load, SQLMesh plan prod, then SQL over gold.report_rentals.
2. Hand-written SQL straight against the PostgreSQL source, from the source schema only.

Ties are broken by name in byte order on both sides (COLLATE "C" in PostgreSQL).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from dvdrental.commands import main
from dvdrental.reports.answers import (
    QUESTIONS,
    Answer,
    answers_from_duckdb,
    compute_answers,
)
from tests.support.answers import assert_answer_matches, source_answer
from tests.support.warehouses import warehouse_env


@pytest.fixture(scope="module")
def built(sample_warehouse: Path) -> Path:  # noqa: F811
    """The warehouse built from the same sample the source queries read."""
    return sample_warehouse


@pytest.fixture(scope="module")
def answers(built: Path) -> dict[str, Answer]:
    with warehouse_env(built):
        return {answer.question.key: answer for answer in compute_answers()}


@pytest.mark.parametrize("key", [q.key for q in QUESTIONS])
def test_answer_matches_the_source(key: str, answers: dict[str, Answer], pristine_dsn: str) -> None:
    with psycopg.connect(pristine_dsn) as conn:
        assert_answer_matches(key, answers[key].rows, source_answer(conn, key))


def test_answer_shapes(answers: dict[str, Answer]) -> None:
    assert len(answers["top_films"].rows) == 10
    assert len(answers["top_categories"].rows) == 16
    assert [r[0] for r in answers["rentals_by_weekday"].rows] == [1, 2, 3, 4, 5, 6, 7]
    assert answers["rentals_by_weekday"].rows[0][1] == "Monday"
    assert sum(r[-1] for r in answers["rentals_by_weekday"].rows) == 16044
    assert len(answers["top_countries"].rows) == 10
    assert len(answers["longest_rentals_by_country"].rows) == 10


def test_helper_on_a_path_gives_the_same_answers(built: Path, answers: dict[str, Answer]) -> None:
    assert {a.question.key: a.rows for a in answers_from_duckdb(built)} == {k: a.rows for k, a in answers.items()}


def test_cli_prints_every_question(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with warehouse_env(built):
        assert main(["answers"]) == 0
    out = capsys.readouterr().out
    for question in QUESTIONS:
        assert question.title in out
    assert "Sunday" in out


LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d|\b(DEBUG|INFO|WARNING|ERROR)\b")


def test_stdout_holds_the_answers_and_no_log_records(built: Path) -> None:
    """Logs (even at -v) go to stderr: `dvdrental answers > answers.txt` is the tables only."""
    env = {**os.environ, "DVD_WAREHOUSE_PATH": str(built), "SQLMESH__DISABLE_ANONYMIZED_ANALYTICS": "true"}
    done = subprocess.run(
        [sys.executable, "-m", "dvdrental", "-v", "answers"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == QUESTIONS[0].title
    assert [line for line in lines if LOG_RECORD.search(line)] == []
    assert sum(line in {q.title for q in QUESTIONS} for line in lines) == len(QUESTIONS)
