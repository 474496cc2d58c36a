MODEL (
  name gold.fact_rental,
  /* Change-driven: a run recomputes only the rentals something changed for in its interval
     (rentals_to_refresh: the rental, one of its payments, its copy or film, its customer's
     versions), keeps those whose content hash differs from the stored row (@this_model), and the
     merge on rental_id upserts just those. So a daily run writes what changed - a late payment, a
     late return, a new rental - and its result equals a full rebuild. Rentals deleted in the
     source are deleted here too (the post-statement below), so the table always has exactly the
     rentals of silver.dvd_rental. */
  kind INCREMENTAL_BY_UNIQUE_KEY (
    unique_key rental_id
  ),
  cron '@daily',
  owner 'analytics-engineering',
  grain rental_id,
  -- The dimensions the referential-integrity audits check; dim_customer is read by the query.
  depends_on (gold.dim_date, gold.dim_film, gold.dim_address),
  -- Row checks look at the rows this run wrote; the reconciliations below look at the whole table.
  description 'Rental fact: exactly one row per rental, with keys to every dimension and the payment and return measures. Unpaid rentals have amount and count 0; the duration (fractional days) and is_late are NULL while not returned (docs/models.md).',
  audits (
    not_null(columns := (rental_id, rental_date_key, rental_at, film_id, inventory_id, store_id, customer_id, customer_valid_from, address_id, payment_amount, payment_count, is_returned, _row_hash, _changed_at), condition := _changed_at >= @start_ts),
    unique_values(columns := (rental_id), condition := _changed_at >= @start_ts),
    accepted_range(column := payment_amount, min_v := 0, condition := _changed_at >= @start_ts),
    accepted_range(column := payment_count, min_v := 0, condition := _changed_at >= @start_ts),
    accepted_range(column := rental_duration_days, min_v := 0, condition := _changed_at >= @start_ts),
    row_count_matches(other := silver.dvd_rental),
    revenue_matches_payments,
    references_dimension(column := rental_date_key, dimension := gold.dim_date, dimension_column := date_key, condition := _changed_at >= @start_ts),
    references_dimension(column := return_date_key, dimension := gold.dim_date, dimension_column := date_key, condition := _changed_at >= @start_ts),
    references_dimension(column := film_id, dimension := gold.dim_film, dimension_column := film_id, condition := _changed_at >= @start_ts),
    references_dimension(column := address_id, dimension := gold.dim_address, dimension_column := address_id, condition := _changed_at >= @start_ts),
    customer_version_exists
  )
);

WITH rentals_to_refresh AS (
  -- Every rental whose fact row can have changed in this interval; the rest are left alone.
  SELECT rental_id FROM silver.dvd_rental WHERE _changed_at >= @start_ts -- new or changed rentals
  UNION
  SELECT rental_id FROM silver.dvd_payment WHERE _changed_at >= @start_ts -- new or changed payments
  UNION
  SELECT _previous_rental_id FROM silver.dvd_payment WHERE _changed_at >= @start_ts -- a payment moved to another rental
  UNION
  -- payments deleted in the source (silver no longer has them; its change log says which)
  SELECT rental_id FROM silver.dvd_deletions WHERE source_table = 'payment' AND _changed_at >= @start_ts
  UNION
  -- the rented copy moved to another film or store, or the film's allowed days changed (is_late)
  SELECT
    stored.rental_id
  FROM @this_model AS stored
  LEFT JOIN silver.dvd_inventory AS inventory
    ON inventory.inventory_id = stored.inventory_id
  LEFT JOIN silver.dvd_film AS film
    ON film.film_id = inventory.film_id
  WHERE
    @any_differs(
      (stored.film_id, inventory.film_id),
      (stored.store_id, inventory.store_id),
      (stored.is_late, CASE WHEN stored.is_returned THEN stored.rental_duration_days > film.rental_duration END)
    )
  UNION
  -- the customer got a new version (written in this interval, wherever its valid_from lies: it is
  -- the source's change time) or its last one closed: the version valid at rental time can differ
  SELECT
    rental.rental_id
  FROM silver.dvd_rental AS rental
  WHERE
    rental.customer_id IN (
      SELECT customer_id FROM gold.dim_customer WHERE _changed_at >= @start_ts OR valid_to >= @start_ts
    )
), rentals AS (
  -- A build from the start of the history takes every rental (@changes_only drops the filter).
  SELECT
    rental.*
  FROM silver.dvd_rental AS rental
  WHERE @changes_only(rental.rental_id IN (SELECT rental_id FROM rentals_to_refresh))
), payments_per_rental AS (
  -- Aggregated before the join: one row per rental whatever the number of payments.
  SELECT
    rental_id,
    SUM(amount) AS payment_amount,
    COUNT(*) AS payment_count
  FROM silver.dvd_payment
  WHERE @changes_only(rental_id IN (SELECT rental_id FROM rentals_to_refresh))
  GROUP BY rental_id
), customer_version_at_rental AS (
  /* The customer version valid when the rental happened: valid_from <= rental_date < valid_to.
     Versions of one customer are contiguous, so that is the earliest version still open at
     rental time. Should a rental predate every version (a customer first loaded after renting),
     the earliest version is taken: rentals always find a customer. */
  SELECT
    rental.rental_id,
    customer.valid_from AS customer_valid_from,
    customer.address_id
  FROM rentals AS rental
  JOIN gold.dim_customer AS customer
    ON customer.customer_id = rental.customer_id
    AND rental.rental_date < COALESCE(customer.valid_to, CAST('9999-12-31 00:00:00' AS TIMESTAMP_NTZ))
  QUALIFY ROW_NUMBER() OVER (PARTITION BY rental.rental_id ORDER BY customer.valid_from) = 1
), refreshed_rentals AS (
  SELECT
    rental.rental_id,
    rental.rental_date AS rental_at,
    rental.return_date AS returned_at,
    rental.inventory_id,
    inventory.film_id,
    inventory.store_id,
    rental.customer_id,
    customer_version_at_rental.customer_valid_from,
    customer_version_at_rental.address_id,
    rental.staff_id,
    COALESCE(payments_per_rental.payment_amount, 0) AS payment_amount,
    COALESCE(payments_per_rental.payment_count, 0) AS payment_count,
    -- Microseconds, not seconds: TIMESTAMPDIFF counts unit boundaries crossed, so whole seconds would be up to 1 s off.
    TIMESTAMPDIFF(MICROSECOND, rental.rental_date, rental.return_date) / 86400000000.0 AS rental_duration_days,
    film.rental_duration AS allowed_rental_days
  FROM rentals AS rental
  LEFT JOIN silver.dvd_inventory AS inventory
    ON inventory.inventory_id = rental.inventory_id
  LEFT JOIN silver.dvd_film AS film
    ON film.film_id = inventory.film_id
  LEFT JOIN customer_version_at_rental
    ON customer_version_at_rental.rental_id = rental.rental_id
  LEFT JOIN payments_per_rental
    ON payments_per_rental.rental_id = rental.rental_id
), candidate_rows AS (
  /* Silver's columns keep silver's types (INT ids, TIMESTAMP_NTZ times). The CASTs left give a
     type to what the query computes or takes from elsewhere: SQLMesh's valid_from (TIMESTAMP, which
     is zoned on Databricks), a SUM (DECIMAL(38, 2) in DuckDB; a rental's payments stay far below
     10^7), a COUNT (BIGINT) and a quotient (DECIMAL on Spark, DOUBLE in DuckDB). */
  SELECT
    rental_id,
    @date_key(CAST(rental_at AS DATE)) AS rental_date_key,
    @date_key(CAST(returned_at AS DATE)) AS return_date_key,
    rental_at,
    returned_at,
    film_id,
    inventory_id,
    store_id,
    customer_id,
    CAST(customer_valid_from AS TIMESTAMP_NTZ) AS customer_valid_from,
    address_id,
    staff_id,
    CAST(payment_amount AS DECIMAL(9, 2)) AS payment_amount,
    CAST(payment_count AS INT) AS payment_count,
    CAST(rental_duration_days AS DOUBLE) AS rental_duration_days,
    returned_at IS NOT NULL AS is_returned,
    CASE WHEN returned_at IS NOT NULL THEN rental_duration_days > allowed_rental_days END AS is_late
  FROM refreshed_rentals
), hashed_rows AS (
  SELECT
    *,
    @content_hash(
      rental_date_key, return_date_key, rental_at, returned_at, film_id, inventory_id, store_id,
      customer_id, customer_valid_from, address_id, staff_id, payment_amount, payment_count,
      rental_duration_days, is_returned, is_late
    ) AS _row_hash
  FROM candidate_rows
)
SELECT
  hashed_rows.rental_id, -- Primary key: the source rental_id.
  hashed_rows.rental_date_key, -- Day the rental started (gold.dim_date.date_key).
  hashed_rows.return_date_key, -- Day it was returned (gold.dim_date.date_key); NULL while not returned.
  hashed_rows.rental_at, -- When the rental started (source rental_date).
  hashed_rows.returned_at, -- When it was returned (source return_date); NULL while not returned.
  hashed_rows.film_id, -- The rented film (gold.dim_film).
  hashed_rows.inventory_id, -- The rented copy (degenerate: silver.dvd_inventory).
  hashed_rows.store_id, -- The store owning the copy.
  hashed_rows.customer_id, -- The customer; with customer_valid_from, the key of gold.dim_customer.
  hashed_rows.customer_valid_from, -- valid_from of the customer version valid at rental time (gold.dim_customer).
  hashed_rows.address_id, -- The customer's address at rental time (gold.dim_address: city, country).
  hashed_rows.staff_id, -- Staff member who handed the copy out (degenerate, no staff dimension).
  hashed_rows.payment_amount, -- Sum of this rental's payments; 0 when unpaid.
  hashed_rows.payment_count, -- Number of this rental's payments; 0 when unpaid.
  hashed_rows.rental_duration_days, -- Fractional days from rental to return (microseconds / 86,400,000,000); NULL while not returned.
  hashed_rows.is_returned, -- TRUE once the copy is back.
  hashed_rows.is_late, -- Returned later than the film's allowed rental days after renting; NULL while not returned.
  hashed_rows._row_hash, -- @content_hash of the columns above: what the incremental run compares.
  @changed_at() AS _changed_at -- End of the interval whose run last wrote this row (gold.report_rentals takes _changed_at >= its @start_ts).
FROM hashed_rows
LEFT JOIN @this_model AS stored_rows
  ON stored_rows.rental_id = hashed_rows.rental_id
WHERE
  stored_rows.rental_id IS NULL
  OR stored_rows._row_hash <> hashed_rows._row_hash;

-- Rentals deleted in the source leave the fact too (silver.dvd_deletions; after the merge, only
-- when really evaluating). row_count_matches proves the fact has exactly silver's rentals.
@delete_tombstoned_keys(rental_id, silver.dvd_deletions, source_table = 'rental');

-- Revenue reconciliation: the fact's revenue equals the payments whose rental exists.
AUDIT (name revenue_matches_payments);
WITH fact_revenue AS (
  SELECT COALESCE(SUM(payment_amount), 0) AS amount FROM @this_model
), silver_revenue AS (
  SELECT COALESCE(SUM(payment.amount), 0) AS amount
  FROM silver.dvd_payment AS payment
  WHERE payment.rental_id IN (SELECT rental_id FROM silver.dvd_rental)
)
SELECT
  fact_revenue.amount AS fact_revenue,
  silver_revenue.amount AS payments_revenue
FROM fact_revenue
CROSS JOIN silver_revenue
WHERE fact_revenue.amount <> silver_revenue.amount;

-- Referential integrity of the composite customer version key.
AUDIT (name customer_version_exists);
SELECT
  fact.rental_id,
  fact.customer_id,
  fact.customer_valid_from
FROM @this_model AS fact
WHERE fact._changed_at >= @start_ts -- versions are never deleted: older rows keep theirs
  AND NOT EXISTS (
  SELECT 1
  FROM gold.dim_customer AS customer
  WHERE customer.customer_id = fact.customer_id
    AND customer.valid_from = fact.customer_valid_from
);
