"""A scaled copy of the DVD rental sample, for benchmarks: ``dvdrental source scale --factor N``.

The sample is tiny (16,044 rentals); users run this pattern on millions of
rows. This builds ``dvdrental_x{N}`` on the same PostgreSQL server with
``rental`` and ``payment`` multiplied by N, entirely inside the server with
set-based SQL (``INSERT ... SELECT`` over ``generate_series``): ×600 (9.6 M
rentals, 8.8 M payments) takes a few minutes on 2 cores.

How the copies are made (copy 0 is the sample itself, untouched):

* copy k of a rental gets ``rental_id + k * max(rental_id)``; copy k of a
  payment gets ``payment_id + k * max(payment_id)`` and points at copy k of
  its rental, so every payment has its rental and the sample's quirks
  (183 unreturned rentals, 1,452 rentals without payment, the rental paid
  twice) repeat exactly N times;
* every timestamp of copy k (``rental_date``, ``return_date``,
  ``payment_date``, ``last_update``) moves forward by k days, so the data
  spreads forward in time (×600: rentals from 2005-05-24 to 2007-10-07) and
  every day carries up to the whole sample's volume (a steady ×600 day holds
  about 16,000 rentals, the sample holds 41 rental days), like a larger
  business over a similar period. Shifting by whole sample spans (267 days)
  instead would push ×600 four centuries into the future, which the silver
  ``not_in_future`` audits rightly reject, and make the calendar (dim_date,
  the dense monthly snapshot) grow with the factor instead of the facts;
* customers, inventory, films, stores and staff stay as they are (599
  customers, 4,581 copies of films): every rental's ``customer_id`` and
  ``inventory_id`` still exist. Scaling the dimensions would change the
  business answers, not the load or build cost, which the fact tables drive.

The bulk insert runs without indexes; the primary keys are added afterwards,
the foreign keys of ``rental``/``payment`` come back ``NOT VALID`` (declared,
not re-checked: checking would double the build time; the tests check there
are no orphans), and the secondary indexes (``idx_fk_*``, the unique
``rental_date, inventory_id, customer_id``) are not rebuilt. The copy is built
under a scratch name and renamed at the end, so an interrupted run never
leaves a half-scaled database under the final name; an existing complete
copy is reused unless ``replace`` is set.
"""

from __future__ import annotations

import logging
import time
import typing as t
from collections.abc import Callable
from datetime import timedelta

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from foundation.errors import SourceError

logger = logging.getLogger(__name__)

MARKER = "dvdrental scaled copy (shift 1 day per copy), complete: factor="
SHIFT = timedelta(days=1)  # copy k is k days later than the sample

_DROP_CONSTRAINTS = """
ALTER TABLE payment DROP CONSTRAINT IF EXISTS payment_rental_id_fkey;
ALTER TABLE payment DROP CONSTRAINT IF EXISTS payment_customer_id_fkey;
ALTER TABLE payment DROP CONSTRAINT IF EXISTS payment_staff_id_fkey;
ALTER TABLE rental DROP CONSTRAINT IF EXISTS rental_customer_id_fkey;
ALTER TABLE rental DROP CONSTRAINT IF EXISTS rental_inventory_id_fkey;
ALTER TABLE rental DROP CONSTRAINT IF EXISTS rental_staff_id_key;
ALTER TABLE payment DROP CONSTRAINT IF EXISTS payment_pkey;
ALTER TABLE rental DROP CONSTRAINT IF EXISTS rental_pkey;
DROP INDEX IF EXISTS idx_fk_inventory_id;
DROP INDEX IF EXISTS idx_unq_rental_rental_date_inventory_id_customer_id;
DROP INDEX IF EXISTS idx_fk_customer_id;
DROP INDEX IF EXISTS idx_fk_rental_id;
DROP INDEX IF EXISTS idx_fk_staff_id;
"""

# The key strides, fixed before the insert.
_PARAMS = """
SELECT
  (SELECT max(rental_id) FROM rental) AS rental_stride,
  (SELECT max(payment_id) FROM payment) AS payment_stride
"""

_INSERT_RENTALS = """
INSERT INTO rental (rental_id, rental_date, inventory_id, customer_id, return_date, staff_id, last_update)
SELECT r.rental_id + k * %(rental_stride)s,
       r.rental_date + k * %(span)s,
       r.inventory_id,
       r.customer_id,
       r.return_date + k * %(span)s,
       r.staff_id,
       r.last_update + k * %(span)s
FROM generate_series(1, %(copies)s) AS k
CROSS JOIN (SELECT * FROM rental WHERE rental_id <= %(rental_stride)s) AS r
"""

_INSERT_PAYMENTS = """
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date)
SELECT p.payment_id + k * %(payment_stride)s,
       p.customer_id,
       p.staff_id,
       p.rental_id + k * %(rental_stride)s,
       p.amount,
       p.payment_date + k * %(span)s
FROM generate_series(1, %(copies)s) AS k
CROSS JOIN (SELECT * FROM payment WHERE payment_id <= %(payment_stride)s) AS p
"""

_ADD_CONSTRAINTS = """
ALTER TABLE rental ADD CONSTRAINT rental_pkey PRIMARY KEY (rental_id);
ALTER TABLE payment ADD CONSTRAINT payment_pkey PRIMARY KEY (payment_id);
ALTER TABLE rental ADD CONSTRAINT rental_customer_id_fkey FOREIGN KEY (customer_id) \
REFERENCES customer(customer_id) NOT VALID;
ALTER TABLE rental ADD CONSTRAINT rental_inventory_id_fkey FOREIGN KEY (inventory_id) \
REFERENCES inventory(inventory_id) NOT VALID;
ALTER TABLE rental ADD CONSTRAINT rental_staff_id_key FOREIGN KEY (staff_id) REFERENCES staff(staff_id) NOT VALID;
ALTER TABLE payment ADD CONSTRAINT payment_rental_id_fkey FOREIGN KEY (rental_id) \
REFERENCES rental(rental_id) NOT VALID;
ALTER TABLE payment ADD CONSTRAINT payment_customer_id_fkey FOREIGN KEY (customer_id) \
REFERENCES customer(customer_id) NOT VALID;
ALTER TABLE payment ADD CONSTRAINT payment_staff_id_fkey FOREIGN KEY (staff_id) REFERENCES staff(staff_id) NOT VALID;
SELECT setval('rental_rental_id_seq', (SELECT max(rental_id) FROM rental));
SELECT setval('payment_payment_id_seq', (SELECT max(payment_id) FROM payment));
"""


def scaled_name(factor: int, base: str = "dvdrental") -> str:
    return f"{base}_x{factor}"


def with_database(dsn: str, database: str) -> str:
    """The same DSN pointing at another database (keeps a URI a URI, so it prints well)."""
    if dsn.startswith(("postgresql://", "postgres://")):
        head, _, query = dsn.partition("?")
        scheme, _, rest = head.partition("://")
        authority = rest.split("/", 1)[0]
        return f"{scheme}://{authority}/{database}" + (f"?{query}" if query else "")
    params = conninfo_to_dict(dsn)
    params["dbname"] = database
    return make_conninfo("", **params)


def _database_of(dsn: str) -> str:
    return str(conninfo_to_dict(dsn).get("dbname") or "dvdrental")


def scale_database(
    source_dsn: str,
    factor: int,
    target: str | None = None,
    replace: bool = False,
    log: Callable[[str], None] = logger.info,
    restore_fallback: Callable[[str], object] | None = None,
) -> str:
    """Build (or reuse) the ×``factor`` copy of the sample at ``source_dsn``. Returns its DSN.

    ``restore_fallback(name)`` creates ``name`` holding the sample when
    ``CREATE DATABASE ... TEMPLATE`` is refused because someone is connected
    to the sample (the local server passes its ``pg_restore``).
    """
    if factor < 1:
        raise ValueError("the factor must be at least 1")
    base = _database_of(source_dsn)
    target = target or scaled_name(factor, base)
    admin = with_database(source_dsn, "postgres")
    target_dsn = with_database(source_dsn, target)
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (target,)).fetchone()
        if exists and not replace:
            (comment,) = _one_row(
                conn.execute(
                    "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", (target,)
                )
            )
            if comment == f"{MARKER}{factor}":
                log(f"{target} already holds the ×{factor} copy; reusing it (--replace rebuilds it)")
                return target_dsn
            raise SourceError(f"Database {target} exists but is not a complete ×{factor} copy: rerun with --replace.")
    scratch = f"{target}_building"
    started = time.monotonic()
    _create_copy(admin, base, scratch, log, restore_fallback)
    with psycopg.connect(with_database(source_dsn, scratch), autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        with conn.transaction():
            conn.execute(_DROP_CONSTRAINTS)
            rental_stride, payment_stride = _one_row(conn.execute(_PARAMS))
            params = {
                "copies": factor - 1,
                "span": SHIFT,
                "rental_stride": rental_stride,
                "payment_stride": payment_stride,
            }
            if factor > 1:
                step = time.monotonic()
                n = conn.execute(_INSERT_RENTALS, params).rowcount
                log(f"  rental:  +{n:,} rows ({time.monotonic() - step:.1f}s)")
                step = time.monotonic()
                n = conn.execute(_INSERT_PAYMENTS, params).rowcount
                log(f"  payment: +{n:,} rows ({time.monotonic() - step:.1f}s)")
        step = time.monotonic()
        conn.execute(_ADD_CONSTRAINTS)
        log(f"  primary keys ({time.monotonic() - step:.1f}s)")
        step = time.monotonic()
        # Sets hint bits and the visibility map now, so the first read is not also a write.
        conn.execute("VACUUM (ANALYZE) rental")
        conn.execute("VACUUM (ANALYZE) payment")
        log(f"  vacuum analyze ({time.monotonic() - step:.1f}s)")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(scratch), sql.Literal(f"{MARKER}{factor}"))
        )
        if replace:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(target)))
        conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(scratch), sql.Identifier(target)))
    log(f"{target}: ×{factor} built in {time.monotonic() - started:.1f}s")
    return target_dsn


def _create_copy(
    admin: str, base: str, scratch: str, log: Callable[[str], None], restore_fallback: Callable[[str], object] | None
) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch)))
        for attempt in range(5):
            try:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(scratch), sql.Identifier(base))
                )
                return
            except psycopg.errors.ObjectInUse:
                time.sleep(1 + attempt)
    if restore_fallback is None:
        raise SourceError(
            f"Cannot copy {base}: other sessions are connected to it (CREATE DATABASE ... TEMPLATE needs it idle). "
            f"Retry when they are done."
        )
    log(f"{base} is in use; restoring the sample into {scratch} instead")
    restore_fallback(scratch)


# ------------------------------------------------------------------ a new day
_APPEND_DAY = """
WITH day AS (
  SELECT max(rental_date)::date + 1 AS new_day FROM rental
), template AS (
  -- the busiest day so far: a full day's worth of rentals at this scale
  SELECT rental_date::date AS d FROM rental
  GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1
), src AS (
  SELECT r.*, row_number() OVER (ORDER BY r.rental_id) AS n
  FROM rental r, template t
  WHERE r.rental_date >= t.d AND r.rental_date < t.d + 1
), base AS (
  SELECT (SELECT max(rental_id) FROM rental) AS rid, (SELECT max(payment_id) FROM payment) AS pid
), new_rentals AS (
  INSERT INTO rental (rental_id, rental_date, inventory_id, customer_id, return_date, staff_id, last_update)
  SELECT b.rid + s.n,
         day.new_day + (s.rental_date - s.rental_date::date),
         s.inventory_id, s.customer_id,
         day.new_day + (s.return_date - s.rental_date::date),
         s.staff_id,
         day.new_day + (s.rental_date - s.rental_date::date)
  FROM src s, base b, day
  RETURNING rental_id
), new_payments AS (
  INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date)
  SELECT b.pid + row_number() OVER (ORDER BY p.payment_id),
         p.customer_id, p.staff_id, b.rid + s.n, p.amount,
         day.new_day + (s.rental_date - s.rental_date::date) + interval '1 minute'
  FROM src s JOIN payment p ON p.rental_id = s.rental_id, base b, day
  RETURNING payment_id
)
SELECT (SELECT count(*) FROM new_rentals), (SELECT count(*) FROM new_payments), (SELECT new_day FROM day)
"""


def append_day(dsn: str) -> tuple[int, int, object]:
    """Land one new day of rentals (and their payments) after the last day in ``dsn``.

    The day repeats the busiest day so far (×600: about 16,000 rentals) with new ids
    (continuing after the current maxima), its payments dated a minute after
    their rental. Returns (rentals, payments, the new day).
    """
    with psycopg.connect(dsn) as conn:
        rentals, payments, day = _one_row(conn.execute(_APPEND_DAY))
        conn.execute("SELECT setval('rental_rental_id_seq', (SELECT max(rental_id) FROM rental))")
        conn.execute("SELECT setval('payment_payment_id_seq', (SELECT max(payment_id) FROM payment))")
    return rentals, payments, day


def _one_row(cursor: t.Any) -> tuple:
    """The row of a query that always returns exactly one (aggregates, a VALUES list)."""
    row = cursor.fetchone()
    if row is None:
        raise SourceError("a query that always returns one row returned none")
    return tuple(row)
