"""The scale generator (`dvdrental source scale`) at a small factor, against the real server."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg
import pytest

from ingest.source import LocalPostgres
from ingest.source.scale import append_day, scale_database
from tests.support.answers import assert_rows_equal_by_key

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


def test_keys_are_consistent(scaled: str, pristine_dsn: str) -> None:
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
    # a payment belongs to the same customer as its rental in every copy as often as in the sample
    mismatched = "SELECT count(*) FROM payment p JOIN rental r USING (rental_id) WHERE p.customer_id <> r.customer_id"
    assert one(scaled, mismatched) == FACTOR * one(pristine_dsn, mismatched)


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


def _rows(dsn: str, sql: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchall()


RENTALS = "SELECT rental_id, rental_date, inventory_id, customer_id, return_date, staff_id, last_update FROM rental"
PAYMENTS = "SELECT payment_id, customer_id, staff_id, rental_id, amount, payment_date FROM payment"


def test_every_copy_is_the_sample_shifted_row_by_row(scaled: str, pristine_dsn: str) -> None:
    """Copy k of every sample row: ids + k * the sample's largest id, every timestamp + k days, the
    rest equal (ingest/source/scale.py's docstring). Expected rows built from the sample, by key."""
    shift = timedelta(days=SHIFT_DAYS)
    sample_rentals = _rows(pristine_dsn, RENTALS)
    sample_payments = _rows(pristine_dsn, PAYMENTS)
    rental_stride = max(r[0] for r in sample_rentals)
    payment_stride = max(p[0] for p in sample_payments)

    def later(value: datetime | None, k: int) -> datetime | None:
        return None if value is None else value + k * shift

    expected_rentals = {
        rental_id + k * rental_stride: (
            rental_id + k * rental_stride,
            later(at, k),
            inventory,
            customer,
            later(returned, k),
            staff,
            later(updated, k),
        )
        for k in range(FACTOR)
        for rental_id, at, inventory, customer, returned, staff, updated in sample_rentals
    }
    expected_payments = {
        payment_id + k * payment_stride: (
            payment_id + k * payment_stride,
            customer,
            staff,
            rental_id + k * rental_stride,
            amount,
            later(paid, k),
        )
        for k in range(FACTOR)
        for payment_id, customer, staff, rental_id, amount, paid in sample_payments
    }
    assert_rows_equal_by_key("scaled rental", _rows(scaled, RENTALS), list(expected_rentals.values()))
    assert_rows_equal_by_key("scaled payment", _rows(scaled, PAYMENTS), list(expected_payments.values()))
    # nothing lands in the future (the silver not_in_future audits)
    assert one(scaled, "SELECT max(rental_date) < now() FROM rental")


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
