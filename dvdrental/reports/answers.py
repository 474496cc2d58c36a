"""The five business questions, defined once, and how to answer them.

Each question is data: a key, a title and one SQL query in the Databricks dialect that
reads only ``gold.report_rentals``. sqlglot transpiles it to the engine that runs it
(DuckDB locally, Spark/Databricks in production). ``dvdrental answers`` and the dashboard
both use :data:`QUESTIONS` and :func:`compute_answers`, so they can never disagree.

Tie-breaks make every result deterministic: equal counts are ordered by name (byte
order, as Spark and DuckDB compare strings).
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import sqlglot

from dvdrental.warehouse.reader import Rows, WarehouseReader, duckdb_reader, open_reader

SOURCE_DIALECT = "databricks"


@dataclass(frozen=True)
class Question:
    key: str
    title: str
    sql: str  # Databricks dialect, reads gold.report_rentals

    def sql_for(self, dialect: str) -> str:
        """This question's SQL for the engine ``dialect`` (e.g. duckdb, spark, databricks)."""
        return sqlglot.transpile(self.sql, read=SOURCE_DIALECT, write=dialect)[0]


@dataclass(frozen=True)
class Answer:
    question: Question
    columns: tuple[str, ...]
    rows: tuple[tuple, ...]

    def as_table(self) -> str:
        """The answer as a plain-text table with a title line."""
        cells = [tuple(_format(v) for v in row) for row in self.rows]
        widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(self.columns)]
        numeric = [
            all(isinstance(row[i], (int, float)) or _is_decimal(row[i]) for row in self.rows)
            for i in range(len(self.columns))
        ]

        def line(values: t.Sequence[str]) -> str:
            return "  ".join(
                v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)
            ).rstrip()

        out = [self.question.title, line(self.columns), line(["-" * w for w in widths])]
        out.extend(line(row) for row in cells)
        return "\n".join(out)


QUESTIONS: tuple[Question, ...] = (
    Question(
        key="top_films",
        title="Top 10 films by number of rentals",
        sql="""
            SELECT film_title AS film, COUNT(*) AS rentals
            FROM gold.report_rentals
            GROUP BY film_title
            ORDER BY rentals DESC, film
            LIMIT 10
        """,
    ),
    Question(
        key="top_categories",
        title="Film categories by number of rentals",
        sql="""
            SELECT film_category AS category, COUNT(*) AS rentals
            FROM gold.report_rentals
            GROUP BY film_category
            ORDER BY rentals DESC, category
        """,
    ),
    Question(
        key="rentals_by_weekday",
        title="Rentals per day of week (ISO: Monday = 1)",
        sql="""
            SELECT rental_iso_day_of_week AS iso_day, rental_day_name AS day_name, COUNT(*) AS rentals
            FROM gold.report_rentals
            GROUP BY rental_iso_day_of_week, rental_day_name
            ORDER BY iso_day
        """,
    ),
    Question(
        key="top_countries",
        title="Top 10 countries by number of rentals",
        sql="""
            SELECT country, COUNT(*) AS rentals
            FROM gold.report_rentals
            GROUP BY country
            ORDER BY rentals DESC, country
            LIMIT 10
        """,
    ),
    Question(
        key="longest_rentals_by_country",
        title="Top 10 countries by average rental duration in days (returned rentals)",
        sql="""
            SELECT
              country,
              ROUND(AVG(rental_duration_days), 2) AS avg_rental_days,
              COUNT(*) AS returned_rentals
            FROM gold.report_rentals
            WHERE is_returned
            GROUP BY country
            ORDER BY AVG(rental_duration_days) DESC, country
            LIMIT 10
        """,
    ),
)


def answer_with(fetch: t.Callable[[str], Rows], dialect: str) -> list[Answer]:
    """Answer every question with ``fetch(sql) -> (column names, rows)`` on an engine of ``dialect``."""
    answers = []
    for question in QUESTIONS:
        columns, rows = fetch(question.sql_for(dialect))
        answers.append(Answer(question, tuple(columns), tuple(tuple(r) for r in rows)))
    return answers


def answers_from(reader: WarehouseReader) -> list[Answer]:
    """Answer the questions through an open :class:`~dvdrental.warehouse.reader.WarehouseReader`."""
    return answer_with(reader.fetch, reader.dialect)


def answers_from_duckdb(path: str | Path) -> list[Answer]:
    """Answer the questions on a DuckDB warehouse file (opened read-only)."""
    with duckdb_reader(path) as reader:
        return answers_from(reader)


def compute_answers(gateway: str | None = None) -> list[Answer]:
    """Answer the questions on the prod views of ``gateway`` (default: the configured one)."""
    with open_reader(gateway) as reader:
        return answers_from(reader)


def _format(value: t.Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _is_decimal(value: t.Any) -> bool:
    return isinstance(value, Decimal)
