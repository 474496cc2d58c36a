"""The five business questions answered by plain SQL on the PostgreSQL source, and the row-by-row comparison.

Written from the source schema only, never from the models: the expectation every gold figure is
held against (tests/models/test_answers.py, test_customer_history.py and the daily-run tests).
Ties are broken by name in byte order (COLLATE "C"), as the answers do.
"""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest

# The address of the customer who made each rental, as a CTE the country answers join. The sample
# never moves anyone, so here it is the customer's address now; tests/models/test_customer_history.py
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


# gold.fact_rental's measures per rental, from the source schema and docs/models.md's definitions only:
# every rental once; its copy's film and store; the customer's current address (see CURRENT_ADDRESS);
# the payments summed (0 and 0 when unpaid); the duration in fractional days and is_late (more than
# the film's rental_duration days) NULL while out.
SOURCE_FACT_COLUMNS = (
    "rental_id, rental_at, returned_at, film_id, inventory_id, store_id, customer_id, address_id, staff_id, "
    "payment_amount, payment_count, is_returned, rental_duration_days, is_late"
)  # rental_duration_days compared in whole seconds (exact on both sides)
SOURCE_FACT_SQL = """
    SELECT r.rental_id, r.rental_date, r.return_date, i.film_id, r.inventory_id, i.store_id, r.customer_id,
           cu.address_id, r.staff_id,
           COALESCE(p.amount, 0)::numeric(9, 2), COALESCE(p.payments, 0)::int, r.return_date IS NOT NULL,
           round(EXTRACT(EPOCH FROM r.return_date - r.rental_date))::bigint,
           CASE WHEN r.return_date IS NOT NULL
                THEN EXTRACT(EPOCH FROM r.return_date - r.rental_date) / 86400.0 > f.rental_duration END
    FROM rental r
    JOIN inventory i ON i.inventory_id = r.inventory_id
    JOIN film f ON f.film_id = i.film_id
    JOIN customer cu ON cu.customer_id = r.customer_id
    LEFT JOIN (SELECT rental_id, sum(amount) AS amount, count(*) AS payments FROM payment GROUP BY rental_id) p
      ON p.rental_id = r.rental_id
    ORDER BY r.rental_id
"""


def source_fact_rows(conn: psycopg.Connection) -> list[tuple]:
    """gold.fact_rental's rows (:data:`SOURCE_FACT_COLUMNS`, by rental_id) as plain SQL on the source says."""
    return conn.execute(SOURCE_FACT_SQL).fetchall()


def fact_rows_sql() -> str:
    """The same columns read from gold.fact_rental, the duration in whole seconds as the source side has it."""
    columns = SOURCE_FACT_COLUMNS.replace("rental_duration_days", "CAST(round(rental_duration_days * 86400) AS BIGINT)")
    return f"SELECT {columns} FROM gold.fact_rental ORDER BY rental_id"


def assert_rows_equal_by_key(what: str, actual: list[tuple], expected: list[tuple]) -> None:
    """Rows keyed by their first column, compared both ways: missing, extra and differing keys named."""
    got = {row[0]: row for row in actual}
    want = {row[0]: row for row in expected}
    assert len(got) == len(actual) and len(want) == len(expected), f"{what}: a key appears twice"
    missing = sorted(want.keys() - got.keys())
    extra = sorted(got.keys() - want.keys())
    differ = [(want[k], got[k]) for k in sorted(want.keys() & got.keys()) if want[k] != got[k]]
    assert not (missing or extra or differ), (
        f"{what}: {len(missing)} keys missing {missing[:5]}, {len(extra)} extra {extra[:5]}, "
        f"{len(differ)} differ (source, warehouse): {differ[:3]}"
    )
