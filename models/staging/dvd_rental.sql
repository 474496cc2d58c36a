MODEL (
  name staging.dvd_rental,
  kind FULL,
  cron '@daily',
  owner 'data-engineering',
  grain rental_id,
  description 'Checked staging table built from bronze (its audits gate silver.dvd_rental): one row per rental (public.rental): the newest bronze copy of each rental_id, typed as in the source. A rental whose copy or customer is missing, returned before it was rented, or dated more than a week after it was extracted fails a blocking audit here, so gold keeps the previous results.',
  -- The parents the referential-integrity audits check (audits resolve only models the model depends on).
  depends_on (staging.dvd_inventory, staging.dvd_customer),
  audits (
    not_null(columns := (rental_id, rental_date, inventory_id, customer_id, staff_id)),
    unique_values(columns := (rental_id)),
    references_dimension(column := inventory_id, dimension := staging.dvd_inventory, dimension_column := inventory_id),
    references_dimension(column := customer_id, dimension := staging.dvd_customer, dimension_column := customer_id),
    not_before(column := return_date, earlier := rental_date),
    not_in_future(column := rental_date),
    not_in_future(column := return_date),
    one_row_per_bronze_key(source := bronze.raw_dvd_rental, keys := rental_id),
    bronze_is_fresh(source := bronze.raw_dvd_rental)
  )
);

SELECT
  CAST(rental_id AS INT) AS rental_id, -- Primary key of the rental.
  CAST(rental_date AS TIMESTAMP_NTZ) AS rental_date, -- When the item was handed out (store local time, no zone).
  CAST(inventory_id AS INT) AS inventory_id, -- The rented copy (staging.dvd_inventory).
  CAST(customer_id AS INT) AS customer_id, -- Who rented it (staging.dvd_customer).
  CAST(return_date AS TIMESTAMP_NTZ) AS return_date, -- When it came back; NULL while not returned.
  CAST(staff_id AS INT) AS staff_id, -- The staff member who handed it out.
  CAST(last_update AS TIMESTAMP_NTZ) AS last_update, -- Source row's last change (nearly constant in the sample: not a watermark).
  @airbyte_loaded_at() AS _loaded_at -- When Airbyte extracted this copy from the source (UTC instant).
FROM bronze.raw_dvd_rental
QUALIFY @is_latest_extract(rental_id)
