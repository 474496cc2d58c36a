MODEL (
  name staging.dvd_film_category,
  kind FULL,
  cron '@daily',
  owner 'data-engineering',
  grain (film_id, category_id),
  -- The broken-load guard: a refused load stops this model before it is written (staging/bronze_loads.sql).
  depends_on (staging.bronze_loads),
  description 'Checked staging table built from bronze (its audits gate silver.dvd_film_category): one row per (film, category) pair (public.film_category): the newest bronze copy of each pair. The sample has exactly one category per film.',
  audits (
    not_null(columns := (film_id, category_id)),
    unique_combination_of_columns(columns := (film_id, category_id)),
    one_row_per_bronze_key(source := bronze.raw_dvd_film_category, keys := (film_id, category_id))
  )
);

SELECT
  CAST(film_id AS INT) AS film_id, -- The film (staging.dvd_film); key part 1.
  CAST(category_id AS INT) AS category_id, -- The category (staging.dvd_category); key part 2.
  CAST(last_update AS TIMESTAMP_NTZ) AS last_update, -- Source row's last change.
  @airbyte_loaded_at() AS _loaded_at -- When Airbyte extracted this copy from the source (UTC instant).
FROM bronze.raw_dvd_film_category
QUALIFY @is_latest_extract(film_id, category_id)
