/* The change log of deletions: which source rows disappeared, and in which interval.

   The change-driven staging tables keep a deleted row as a tombstone (_is_deleted); the silver
   copies delete it. Gold still has to know, to delete a rental and to recompute the rental of
   a deleted payment, and gold reads silver only: this table publishes the tombstones. */
MODEL (
  name silver.dvd_deletions,
  kind INCREMENTAL_BY_TIME_RANGE (
    time_column _changed_at
  ),
  cron '@daily',
  owner 'data-engineering',
  grain (source_table, source_key, _changed_at),
  description 'The change log of deletions: one row per rental or payment found deleted in the source, with its key, its rental and the interval that saw it (_changed_at). Filled from the staging tombstones, read by gold.fact_rental and gold.report_rentals.',
  audits (
    not_null(columns := (source_table, source_key, rental_id, _changed_at)),
    accepted_values(column := source_table, is_in := ('rental', 'payment'))
  )
);

SELECT
  'rental' AS source_table, -- The source table the row was deleted from: rental or payment.
  rental_id AS source_key, -- Its primary key there (rental_id or payment_id).
  rental_id, -- The rental it was or belonged to.
  _changed_at -- End of the interval whose run saw the deletion.
FROM staging.dvd_rental
WHERE
  _is_deleted AND _changed_at BETWEEN @start_ts AND @end_ts
UNION ALL
SELECT
  'payment' AS source_table,
  payment_id AS source_key,
  rental_id,
  _changed_at
FROM staging.dvd_payment
WHERE
  _is_deleted AND _changed_at BETWEEN @start_ts AND @end_ts
