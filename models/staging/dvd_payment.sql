MODEL (
  name staging.dvd_payment,
  kind FULL,
  cron '@daily',
  owner 'data-engineering',
  grain payment_id,
  description 'Checked staging table built from bronze (its audits gate silver.dvd_payment): one row per payment (public.payment): the newest bronze copy of each payment_id, amount back to numeric(5,2). A payment whose rental is missing is kept (it is money received) but flagged by the non-blocking audit on rental_id: gold.fact_rental cannot attribute it to a rental, so it is left out of rental and monthly revenue until its rental arrives (a source read without one snapshot, e.g. Airbyte reading payment after rental, can see it for a day).',
  -- The rental the non-blocking referential audit checks.
  depends_on (staging.dvd_rental),
  audits (
    not_null(columns := (payment_id, customer_id, rental_id, amount, payment_date)),
    unique_values(columns := (payment_id)),
    accepted_range(column := amount, min_v := 0),
    not_in_future(column := payment_date),
    references_dimension(column := rental_id, dimension := staging.dvd_rental, dimension_column := rental_id, blocking := false),
    one_row_per_bronze_key(source := bronze.raw_dvd_payment, keys := payment_id),
    bronze_is_fresh(source := bronze.raw_dvd_payment)
  )
);

SELECT
  CAST(payment_id AS INT) AS payment_id, -- Primary key of the payment.
  CAST(customer_id AS INT) AS customer_id, -- Who paid (staging.dvd_customer).
  CAST(staff_id AS INT) AS staff_id, -- Staff member who took the payment.
  CAST(rental_id AS INT) AS rental_id, -- The rental paid for (staging.dvd_rental); a rental can have several payments or none.
  CAST(amount AS DECIMAL(5, 2)) AS amount, -- Amount paid (source numeric(5,2)).
  CAST(payment_date AS TIMESTAMP_NTZ) AS payment_date, -- When it was paid (the sample pays 2005 rentals in 2007).
  @airbyte_loaded_at() AS _loaded_at -- When Airbyte extracted this copy from the source (UTC instant).
FROM bronze.raw_dvd_payment
QUALIFY @is_latest_extract(payment_id)
