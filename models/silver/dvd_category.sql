MODEL (
  name silver.dvd_category,
  kind FULL,
  cron '@daily',
  owner 'data-engineering',
  grain category_id,
  description 'One row per film category (public.category): the newest bronze copy of each category_id.',
  audits (
    not_null(columns := (category_id, name)),
    unique_values(columns := (category_id)),
    silver_rows_match_bronze_keys(source := bronze.raw_dvd_category, keys := category_id),
    bronze_is_fresh(source := bronze.raw_dvd_category)
  )
);

SELECT
  CAST(category_id AS INT) AS category_id, -- Primary key of the category.
  name, -- Category name, e.g. Action, Sports.
  CAST(last_update AS TIMESTAMP_NTZ) AS last_update, -- Source row's last change.
  @airbyte_loaded_at() AS _loaded_at -- When Airbyte extracted this copy from the source (UTC instant).
FROM bronze.raw_dvd_category
QUALIFY @is_latest_extract(category_id)
