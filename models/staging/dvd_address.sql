MODEL (
  name staging.dvd_address,
  kind FULL,
  cron '@daily',
  owner 'data-engineering',
  grain address_id,
  -- The broken-load guard: a refused load stops this model before it is written (staging/bronze_loads.sql).
  depends_on (staging.bronze_loads),
  description 'Checked staging table built from bronze (its audits gate silver.dvd_address): one row per address (public.address): the newest bronze copy of each address_id, typed as in the source.',
  audits (
    not_null(columns := (address_id, city_id)),
    unique_values(columns := (address_id)),
    one_row_per_bronze_key(source := bronze.raw_dvd_address, keys := address_id)
  )
);

SELECT
  CAST(address_id AS INT) AS address_id, -- Primary key of the address.
  address, -- First address line.
  address2, -- Second address line (mostly empty).
  district, -- District / state / province.
  CAST(city_id AS INT) AS city_id, -- The city (staging.dvd_city).
  postal_code, -- Postal code as text (leading zeros and letters are kept).
  phone, -- Phone number as text.
  CAST(last_update AS TIMESTAMP_NTZ) AS last_update, -- Source row's last change.
  @airbyte_loaded_at() AS _loaded_at -- When Airbyte extracted this copy from the source (UTC instant).
FROM bronze.raw_dvd_address
QUALIFY @is_latest_extract(address_id)
