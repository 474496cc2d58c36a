MODEL (
  name staging.dvd_country,
  kind FULL,
  cron '@daily',
  owner 'data-engineering',
  grain country_id,
  -- The broken-load guard: a refused load stops this model before it is written (staging/bronze_loads.sql).
  depends_on (staging.bronze_loads),
  description 'Checked staging table built from bronze (its audits gate silver.dvd_country): one row per country (public.country): the newest bronze copy of each country_id.',
  audits (
    not_null(columns := (country_id, country)),
    unique_values(columns := (country_id)),
    one_row_per_bronze_key(source := bronze.raw_dvd_country, keys := country_id)
  )
);

SELECT
  CAST(country_id AS INT) AS country_id, -- Primary key of the country.
  country, -- Country name.
  CAST(last_update AS TIMESTAMP_NTZ) AS last_update, -- Source row's last change.
  @airbyte_loaded_at() AS _loaded_at -- When Airbyte extracted this copy from the source (UTC instant).
FROM bronze.raw_dvd_country
QUALIFY @is_latest_extract(country_id)
