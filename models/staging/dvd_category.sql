MODEL (
  name staging.dvd_category,
  kind FULL,
  cron '@daily',
  owner 'data-engineering',
  grain category_id,
  -- The broken-load guard: a refused load stops this model before it is written (staging/bronze_loads.sql).
  depends_on (staging.bronze_loads),
  description 'Checked staging table built from bronze (its audits gate silver.dvd_category): one row per film category (public.category): the newest bronze copy of each category_id.',
  audits (
    not_null(columns := (category_id, name)),
    unique_values(columns := (category_id)),
    one_row_per_bronze_key(source := bronze.raw_dvd_category, keys := category_id)
  )
);

SELECT
  CAST(category_id AS INT) AS category_id, -- Primary key of the category.
  name, -- Category name, e.g. Action, Sports.
  CAST(last_update AS TIMESTAMP_NTZ) AS last_update, -- Source row's last change.
  @airbyte_loaded_at() AS _loaded_at -- When Airbyte extracted this copy from the source (UTC instant).
FROM bronze.raw_dvd_category
QUALIFY @is_latest_extract(category_id)
