"""A rental is credited to the customer version the source had when the rental was made.

One day on a private copy of the sample, all before the next daily run (the run comes a day
later, as a scheduled one does):

* customer 1 moves to the country with the longest rentals, rents three minutes later and
  returns the copy five days on;
* customer 2 moves twice (to India, then to another country), renting after each move;
* customer 3's e-mail and address change with the `last_updated` trigger off, so
  `customer.last_update` stays as it was; it rents just before the extraction and again after it.

Then bronze is loaded and `sqlmesh run` runs the next day. gold.dim_customer must start each new
version when the source changed (last_update), or at the extraction time where the source did
not record it, never at the run's execution time; first versions still cover all history. The
five answers must equal plain SQL on the source (tests/models/test_answers.py) with that as-of logic.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from dvdrental.reports.answers import QUESTIONS, answers_from_duckdb
from dvdrental.warehouse import context as transform
from ingest.bronze import load_bronze
from ingest.source import LocalPostgres
from tests.support.answers import assert_answer_matches, source_answer
from tests.support.postgres import cloned_source
from tests.support.warehouses import (
    copy_warehouse,
    query,
    sqlmesh_context,
    tomorrow,
)

TRACKED = "store_id, first_name, last_name, email, address_id, activebool, create_date"

# Each rental's customer address as of the rental: the customer's row before the day's changes
# (valid from the start of time), then, for a customer whose tracked columns changed, the current
# row, valid from last_update where the change moved it, else from the extraction time.
AS_OF_ADDRESS = f"""
    customer_versions AS (
        SELECT customer_id, address_id, '-infinity'::timestamp AS valid_from
        FROM before_changes.customer
        UNION ALL
        SELECT now_.customer_id, now_.address_id,
               CASE WHEN now_.last_update > before.last_update THEN now_.last_update
                    ELSE %(extracted_at)s::timestamp END
        FROM customer AS now_
        JOIN before_changes.customer AS before ON before.customer_id = now_.customer_id
        WHERE ({", ".join(f"now_.{c}" for c in TRACKED.split(", "))})
              IS DISTINCT FROM ({", ".join(f"before.{c}" for c in TRACKED.split(", "))})
    ), rental_address AS (
        SELECT DISTINCT ON (r.rental_id) r.rental_id, v.address_id
        FROM rental r
        JOIN customer_versions v ON v.customer_id = r.customer_id AND v.valid_from <= r.rental_date
        ORDER BY r.rental_id, v.valid_from DESC
    )
"""


@dataclass(frozen=True)
class Day:
    """What the day changed, and the warehouse after the next daily run."""

    warehouse: Path
    source_dsn: str
    old_address: dict[int, int]  # customer -> address before the day
    longest: int  # an address in the country with the longest rentals
    india: int  # an address in India
    elsewhere: int  # an address in another country
    moved_at: dict[int, datetime]  # customer -> its last_update after the day
    rentals: dict[str, int]  # what -> rental_id
    extracted_at: datetime  # bronze's _airbyte_extracted_at of the load (naive UTC)
    run_at: datetime


def _one(conn: psycopg.Connection, sql: str, params: t.Any = None) -> t.Any:
    row = conn.execute(sql, params).fetchone()
    assert row is not None, sql
    return row[0] if len(row) == 1 else row


def _rent(conn: psycopg.Connection, customer: int, at: str, params: t.Any = None) -> int:
    """A rental by ``customer`` at the SQL time expression ``at``; returns its id."""
    return _one(
        conn,
        "INSERT INTO rental (rental_date, inventory_id, customer_id, staff_id) "
        f"VALUES ({at}, 1, %(c)s, 1) RETURNING rental_id",
        {"c": customer, **(params or {})},
    )


def _live_one_day(dsn: str) -> dict[str, t.Any]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        # The source's naive timestamps are UTC wall-clock, like the extraction time (docs/models.md).
        conn.execute("SET TIME ZONE 'UTC'")
        conn.execute("CREATE SCHEMA before_changes")
        conn.execute("CREATE TABLE before_changes.customer AS SELECT * FROM customer")
        # Countries none of the three lives in: India (the most rentals, so its count moves), the country
        # with the longest rentals (few rentals: one more moves its average), and another.
        countries_of_the_three = (
            "SELECT ci.country_id FROM customer cu JOIN address ca ON ca.address_id = cu.address_id "
            "JOIN city ci ON ci.city_id = ca.city_id WHERE cu.customer_id IN (1, 2, 3)"
        )
        longest = _one(
            conn,
            "SELECT a.address_id FROM address a JOIN city ci USING (city_id) WHERE ci.country_id = ("
            "  SELECT ci2.country_id FROM rental r JOIN customer cu USING (customer_id) "
            "  JOIN address a2 ON a2.address_id = cu.address_id JOIN city ci2 ON ci2.city_id = a2.city_id "
            f"  WHERE r.return_date IS NOT NULL AND ci2.country_id NOT IN ({countries_of_the_three}) "
            "  GROUP BY ci2.country_id ORDER BY AVG(r.return_date - r.rental_date) DESC LIMIT 1) "
            "ORDER BY a.address_id LIMIT 1",
        )
        address_in = (
            "SELECT a.address_id FROM address a JOIN city USING (city_id) JOIN country co USING (country_id) "
            f"WHERE (co.country = 'India') = %s AND co.country_id NOT IN ({countries_of_the_three}) "
            "ORDER BY a.address_id LIMIT 1"
        )
        india, elsewhere = _one(conn, address_in, (True,)), _one(conn, address_in, (False,))
        old = dict(
            conn.execute("SELECT customer_id, address_id FROM customer WHERE customer_id IN (1, 2, 3)").fetchall()
        )
        rentals: dict[str, int] = {}

        # 1 moves (the trigger sets last_update = now()), rents three minutes later, returns it in five days.
        conn.execute("UPDATE customer SET address_id = %s WHERE customer_id = 1", (longest,))
        rentals["after_move"] = _rent(
            conn, 1, "(SELECT last_update FROM customer WHERE customer_id = 1) + interval '3 minutes'"
        )
        conn.execute(
            "UPDATE rental SET return_date = rental_date + interval '5 days' WHERE rental_id = %s",
            (rentals["after_move"],),
        )

        # 2 moves to India, rents, moves on elsewhere, rents again: the load sees only the last move.
        conn.execute("UPDATE customer SET address_id = %s WHERE customer_id = 2", (india,))
        # (Each statement is its own transaction: its now() is later than the one before.)
        rentals["between_moves"] = _rent(conn, 2, "localtimestamp")
        conn.execute("UPDATE customer SET address_id = %s WHERE customer_id = 2", (elsewhere,))
        rentals["after_second_move"] = _rent(
            conn, 2, "(SELECT last_update FROM customer WHERE customer_id = 2) + interval '1 minute'"
        )

        # 3 changes with the trigger off: last_update keeps its old value.
        conn.execute("ALTER TABLE customer DISABLE TRIGGER last_updated")
        conn.execute("UPDATE customer SET address_id = %s, email = 'moved@example.org' WHERE customer_id = 3", (india,))
        conn.execute("ALTER TABLE customer ENABLE TRIGGER last_updated")
        rentals["before_extraction"] = _rent(conn, 3, "localtimestamp")
        # Made after the load's extraction (the load follows in seconds) and before the run.
        rentals["after_extraction"] = _rent(conn, 3, "localtimestamp + interval '30 minutes'")
        moved_at = dict(
            conn.execute("SELECT customer_id, last_update FROM customer WHERE customer_id IN (1, 2, 3)").fetchall()
        )
    return {
        "old_address": old,
        "longest": longest,
        "india": india,
        "elsewhere": elsewhere,
        "moved_at": moved_at,
        "rentals": rentals,
    }


@pytest.fixture(scope="module")
def day(pg_server: LocalPostgres, sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Day]:  # noqa: F811
    """Prod built from the sample, one day of changes in the source, the load, the next day's run."""
    with cloned_source(pg_server) as dsn:
        warehouse = copy_warehouse(sample_warehouse, tmp_path_factory.mktemp("customer_history") / "dvdrental.duckdb")
        changes = _live_one_day(dsn)
        load_bronze(dsn, warehouse, progress=False)
        run_at = tomorrow()
        with sqlmesh_context(warehouse) as ctx:
            assert transform.run_prod(ctx=ctx, execution_time=run_at).is_success
        [(extracted_at,)] = query(
            warehouse,
            "SELECT MAX(CAST(_airbyte_extracted_at AS TIMESTAMP)) FROM bronze.raw_dvd_customer WHERE customer_id = 3",
        )
        yield Day(warehouse, dsn, extracted_at=extracted_at, run_at=run_at.replace(tzinfo=None), **changes)


def _versions(day: Day, customer: int) -> list[tuple]:
    return query(
        day.warehouse,
        "SELECT address_id, valid_from, valid_to FROM gold.dim_customer WHERE customer_id = ? ORDER BY valid_from",
        [customer],
    )


def _address_of(day: Day, rental: str) -> int:
    [(address,)] = query(
        day.warehouse, "SELECT address_id FROM gold.report_rentals WHERE rental_id = ?", [day.rentals[rental]]
    )
    return address


def test_a_rental_minutes_after_a_move_is_on_the_new_address(day: Day) -> None:
    # The new version starts when the source changed the customer, not at the run a day later.
    assert _versions(day, 1) == [
        (day.old_address[1], datetime(1970, 1, 1), day.moved_at[1]),
        (day.longest, day.moved_at[1], None),
    ]
    assert _address_of(day, "after_move") == day.longest
    [(country,)] = query(
        day.warehouse, "SELECT country FROM gold.report_rentals WHERE rental_id = ?", [day.rentals["after_move"]]
    )
    with psycopg.connect(day.source_dsn) as conn:  # the expectation from the source, not from gold.dim_address
        [(expected,)] = conn.execute(
            "SELECT co.country FROM address a JOIN city ci ON ci.city_id = a.city_id "
            "JOIN country co ON co.country_id = ci.country_id WHERE a.address_id = %s",
            (day.longest,),
        ).fetchall()
    assert country == expected
    # The older rentals (the sample's 32) stay on the address the customer had then.
    assert query(
        day.warehouse,
        "SELECT address_id, COUNT(*) FROM gold.fact_rental WHERE customer_id = 1 GROUP BY ALL ORDER BY 2",
    ) == [(day.longest, 1), (day.old_address[1], 32)]


def test_two_moves_between_runs_open_one_version_at_the_last(day: Day) -> None:
    # The load saw only the final state: one new version, from the second move's last_update.
    assert _versions(day, 2) == [
        (day.old_address[2], datetime(1970, 1, 1), day.moved_at[2]),
        (day.elsewhere, day.moved_at[2], None),
    ]
    assert _address_of(day, "after_second_move") == day.elsewhere
    # The address between the moves was never extracted: that rental keeps the one before.
    assert _address_of(day, "between_moves") == day.old_address[2]


def test_a_change_that_left_last_update_alone_starts_at_the_extraction(day: Day) -> None:
    assert day.extracted_at < day.run_at
    versions = _versions(day, 3)
    assert versions == [
        (day.old_address[3], datetime(1970, 1, 1), day.extracted_at),
        (day.india, day.extracted_at, None),
    ]
    assert _address_of(day, "before_extraction") == day.old_address[3]
    assert _address_of(day, "after_extraction") == day.india
    # Nobody else got a version: 599 customers, three of them with two.
    assert query(day.warehouse, "SELECT COUNT(*), COUNT(DISTINCT customer_id) FROM gold.dim_customer") == [(602, 599)]


@pytest.mark.parametrize("key", [q.key for q in QUESTIONS])
def test_answers_equal_the_source_as_of_each_rental(day: Day, key: str) -> None:
    answers = {answer.question.key: answer.rows for answer in answers_from_duckdb(day.warehouse)}
    with psycopg.connect(day.source_dsn) as conn:
        expected = source_answer(conn, key, AS_OF_ADDRESS, {"extracted_at": day.extracted_at})
    assert_answer_matches(key, answers[key], expected)
