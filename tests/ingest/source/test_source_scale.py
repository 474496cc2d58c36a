"""The scale generator (`dvdrental source scale`) at a small factor, against the real server."""

from __future__ import annotations

import psycopg
import pytest

from ingest.source import LocalPostgres
from ingest.source.scale import append_day, scale_database

FACTOR = 3
SHIFT_DAYS = 1  # copy k is k days later than the sample


@pytest.fixture(scope="module")
def scaled(pg_server: LocalPostgres) -> str:
    name = f"dvdrental_test_x{FACTOR}"
    dsn = scale_database(pg_server.dsn("dvdrental"), FACTOR, target=name, replace=True, log=lambda _: None)
    yield dsn
    with pg_server.connect("postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def one(dsn: str, query: str) -> object:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query).fetchone()[0]


def test_counts_are_exactly_n_times(scaled: str, pristine_dsn: str) -> None:
    for table in ("rental", "payment"):
        assert one(scaled, f"SELECT count(*) FROM {table}") == FACTOR * one(
            pristine_dsn, f"SELECT count(*) FROM {table}"
        )
    # dimensions unchanged
    for table in ("customer", "inventory", "film"):
        assert one(scaled, f"SELECT count(*) FROM {table}") == one(pristine_dsn, f"SELECT count(*) FROM {table}")
    # the sample itself is untouched
    assert one(pristine_dsn, "SELECT count(*) FROM rental") == 16044


def test_keys_are_consistent(scaled: str) -> None:
    assert (
        one(scaled, "SELECT count(*) FROM payment p LEFT JOIN rental r USING (rental_id) WHERE r.rental_id IS NULL")
        == 0
    )
    assert (
        one(
            scaled,
            "SELECT count(*) FROM rental r LEFT JOIN inventory i USING (inventory_id) WHERE i.inventory_id IS NULL",
        )
        == 0
    )
    assert (
        one(
            scaled, "SELECT count(*) FROM rental r LEFT JOIN customer c USING (customer_id) WHERE c.customer_id IS NULL"
        )
        == 0
    )
    assert (
        one(
            scaled,
            "SELECT count(*) FROM payment p LEFT JOIN customer c USING (customer_id) WHERE c.customer_id IS NULL",
        )
        == 0
    )
    # primary keys are back
    assert (
        one(
            scaled,
            "SELECT count(*) FROM pg_constraint "
            "WHERE contype = 'p' AND conrelid IN ('rental'::regclass, 'payment'::regclass)",
        )
        == 2
    )
    # a payment belongs to the same customer as its rental, in every copy
    assert one(
        scaled, "SELECT count(*) FROM payment p JOIN rental r USING (rental_id) WHERE p.customer_id <> r.customer_id"
    ) == FACTOR * one(
        scaled,
        "SELECT count(*) FROM payment p JOIN rental r USING (rental_id) "
        "WHERE p.rental_id <= 16049 AND p.customer_id <> r.customer_id",
    )


def test_quirks_in_proportion(scaled: str, pristine_dsn: str) -> None:
    assert one(scaled, "SELECT count(*) FROM rental WHERE return_date IS NULL") == FACTOR * 183
    assert (
        one(
            scaled,
            "SELECT count(*) FROM rental r WHERE NOT EXISTS (SELECT 1 FROM payment p WHERE p.rental_id = r.rental_id)",
        )
        == FACTOR * 1452
    )
    paid_twice = "SELECT count(*) FROM (SELECT rental_id FROM payment GROUP BY 1 HAVING count(*) > 1) d"
    assert one(scaled, paid_twice) == FACTOR * one(pristine_dsn, paid_twice) > 0


def test_dates_shift_forward(scaled: str, pristine_dsn: str) -> None:
    with psycopg.connect(scaled) as conn:
        rows = conn.execute(
            """
            SELECT (rental_id - 1) / 16049 AS copy, min(rental_date), max(rental_date), max(last_update)
            FROM rental GROUP BY 1 ORDER BY 1
            """
        ).fetchall()
        assert [r[0] for r in rows] == list(range(FACTOR))
        for copy, first, last, updated in rows:
            assert (first - rows[0][1]).days == copy * SHIFT_DAYS
            assert (last - rows[0][2]).days == copy * SHIFT_DAYS
            assert (updated - rows[0][3]).days == copy * SHIFT_DAYS
        # returns and payments moved with their rentals
        assert (
            conn.execute(
                "SELECT count(*) FROM rental WHERE return_date IS NOT NULL AND return_date < rental_date"
            ).fetchone()[0]
            == 0
        )
        payments = conn.execute(
            "SELECT (payment_id - 1) / 32098 AS copy, min(payment_date), max(payment_date) "
            "FROM payment GROUP BY 1 ORDER BY 1"
        ).fetchall()
        assert [
            (copy, (first - payments[0][1]).days, (last - payments[0][2]).days) for copy, first, last in payments
        ] == [(copy, copy * SHIFT_DAYS, copy * SHIFT_DAYS) for copy in range(FACTOR)]
        # nothing lands in the future (the silver not_in_future audits)
        assert conn.execute("SELECT max(rental_date) < now() FROM rental").fetchone()[0]


def test_reused_and_a_new_day_lands(scaled: str, pg_server: LocalPostgres) -> None:
    # a complete copy is reused, not rebuilt
    assert scale_database(pg_server.dsn("dvdrental"), FACTOR, target="dvdrental_test_x3", log=lambda _: None) == scaled
    before_max = one(scaled, "SELECT max(rental_date)::date FROM rental")
    rentals, payments, day = append_day(scaled)
    assert rentals > 0 and payments > 0
    assert day == one(scaled, "SELECT max(rental_date)::date FROM rental") and (day - before_max).days == 1
    assert (
        one(scaled, "SELECT count(*) FROM payment p LEFT JOIN rental r USING (rental_id) WHERE r.rental_id IS NULL")
        == 0
    )
