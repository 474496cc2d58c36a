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
from decimal import Decimal
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
from tests.models_fixtures import warehouse_env

# The address of the customer who made each rental, as a CTE the country answers join. The sample
# never moves anyone, so here it is the customer's address now; tests/test_customer_history.py
# passes the address valid at rental time instead (the same questions, as of each rental).
CURRENT_ADDRESS = """
    rental_address AS (
        SELECT r.rental_id, cu.address_id FROM rental r JOIN customer cu ON cu.customer_id = r.customer_id
    )
"""

SOURCE_SQL = {
    "top_films": """
        SELECT f.title, COUNT(*) AS rentals
        FROM rental r
        JOIN inventory i ON i.inventory_id = r.inventory_id
        JOIN film f ON f.film_id = i.film_id
        GROUP BY f.title
        ORDER BY rentals DESC, f.title COLLATE "C"
        LIMIT 10
    """,
    "top_categories": """
        SELECT c.name, COUNT(*) AS rentals
        FROM rental r
        JOIN inventory i ON i.inventory_id = r.inventory_id
        JOIN film_category fc ON fc.film_id = i.film_id
        JOIN category c ON c.category_id = fc.category_id
        GROUP BY c.name
        ORDER BY rentals DESC, c.name COLLATE "C"
    """,
    "rentals_by_weekday": """
        SELECT EXTRACT(ISODOW FROM r.rental_date)::int AS iso_day,
               trim(to_char(r.rental_date, 'FMDay')) AS day_name,
               COUNT(*) AS rentals
        FROM rental r
        GROUP BY 1, 2
        ORDER BY 1
    """,
    "top_countries": """
        SELECT co.country, COUNT(*) AS rentals
        FROM rental r
        JOIN rental_address ra ON ra.rental_id = r.rental_id
        JOIN address a ON a.address_id = ra.address_id
        JOIN city ci ON ci.city_id = a.city_id
        JOIN country co ON co.country_id = ci.country_id
        GROUP BY co.country
        ORDER BY rentals DESC, co.country COLLATE "C"
        LIMIT 10
    """,
    "longest_rentals_by_country": """
        SELECT co.country,
               ROUND(AVG(EXTRACT(EPOCH FROM r.return_date - r.rental_date) / 86400.0), 2) AS avg_days,
               COUNT(*) AS returned_rentals
        FROM rental r
        JOIN rental_address ra ON ra.rental_id = r.rental_id
        JOIN address a ON a.address_id = ra.address_id
        JOIN city ci ON ci.city_id = a.city_id
        JOIN country co ON co.country_id = ci.country_id
        WHERE r.return_date IS NOT NULL
        GROUP BY co.country
        ORDER BY AVG(EXTRACT(EPOCH FROM r.return_date - r.rental_date)) DESC, co.country COLLATE "C"
        LIMIT 10
    """,
}


@pytest.fixture(scope="module")
def built(sample_warehouse: Path) -> Path:  # noqa: F811
    """The warehouse built from the same sample the source queries read."""
    return sample_warehouse


@pytest.fixture(scope="module")
def answers(built: Path) -> dict[str, Answer]:
    with warehouse_env(built):
        return {answer.question.key: answer for answer in compute_answers()}


def _normalise(row: tuple) -> tuple:
    return tuple(float(v) if isinstance(v, (Decimal, float)) else v for v in row)


def source_answer(
    conn: psycopg.Connection, key: str, rental_address: str = CURRENT_ADDRESS, params: dict | None = None
) -> list[tuple]:
    """Question ``key`` answered by plain SQL on the source, the rentals' addresses from ``rental_address``."""
    return conn.execute(f"WITH {rental_address} {SOURCE_SQL[key]}", params).fetchall()


def assert_answer_matches(key: str, actual_rows: list[tuple], expected_rows: list[tuple]) -> None:
    """Row by row; averages to the two decimals the source SQL rounds to."""
    actual = [_normalise(r) for r in actual_rows]
    expected = [_normalise(r) for r in expected_rows]
    assert len(actual) == len(expected), f"{key}: {len(actual)} rows, the source says {len(expected)}"
    for position, (got, want) in enumerate(zip(actual, expected, strict=True), start=1):
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            if isinstance(w, float):
                assert g == pytest.approx(w, abs=0.0051), f"{key} row {position}: {got} != {want}"
            else:
                assert g == w, f"{key} row {position}: {got} != {want}"


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
