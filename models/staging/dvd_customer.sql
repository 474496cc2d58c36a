MODEL (
  name staging.dvd_customer,
  kind FULL,
  cron '@daily',
  owner 'data-engineering',
  grain customer_id,
  -- The broken-load guard: a refused load stops this model before it is written (staging/bronze_loads.sql).
  depends_on (staging.bronze_loads),
  description 'Checked staging table built from bronze (its audits gate silver.dvd_customer): one row per customer (public.customer) as of the latest load: the newest bronze copy of each customer_id. History lives in gold.dim_customer.',
  audits (
    not_null(columns := (customer_id, store_id, address_id, first_name, last_name)),
    unique_values(columns := (customer_id)),
    one_row_per_bronze_key(source := bronze.raw_dvd_customer, keys := customer_id)
  )
);

SELECT
  CAST(customer_id AS INT) AS customer_id, -- Primary key of the customer.
  CAST(store_id AS INT) AS store_id, -- The customer's home store.
  first_name, -- First name.
  last_name, -- Last name.
  email, -- E-mail address.
  CAST(address_id AS INT) AS address_id, -- The customer's current address (staging.dvd_address).
  activebool, -- Active flag (boolean column of the source).
  create_date, -- Date the customer was created.
  CAST(last_update AS TIMESTAMP_NTZ) AS last_update, -- Source row's last change (nearly constant in the sample: not a watermark).
  CAST(active AS INT) AS active, -- Legacy integer active flag (1 = active).
  @airbyte_loaded_at() AS _loaded_at -- When Airbyte extracted this copy from the source (UTC instant).
FROM bronze.raw_dvd_customer
QUALIFY @is_latest_extract(customer_id)
