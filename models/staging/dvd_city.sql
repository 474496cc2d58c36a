MODEL (
  name staging.dvd_city,
  kind FULL,
  cron '@daily',
  owner 'data-engineering',
  grain city_id,
  -- The broken-load guard: a refused load stops this model before it is written (staging/bronze_loads.sql).
  depends_on (staging.bronze_loads),
  description 'Checked staging table built from bronze (its audits gate silver.dvd_city): one row per city (public.city): the newest bronze copy of each city_id.',
  audits (
    not_null(columns := (city_id, city, country_id)),
    unique_values(columns := (city_id)),
    one_row_per_bronze_key(source := bronze.raw_dvd_city, keys := city_id)
  )
);

SELECT
  CAST(city_id AS INT) AS city_id, -- Primary key of the city.
  city, -- City name.
  CAST(country_id AS INT) AS country_id, -- The country (staging.dvd_country).
  CAST(last_update AS TIMESTAMP_NTZ) AS last_update, -- Source row's last change.
  @airbyte_loaded_at() AS _loaded_at -- When Airbyte extracted this copy from the source (UTC instant).
FROM bronze.raw_dvd_city
QUALIFY @is_latest_extract(city_id)
