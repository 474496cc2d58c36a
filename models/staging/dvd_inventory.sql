MODEL (
  name staging.dvd_inventory,
  kind FULL,
  cron '@daily',
  owner 'data-engineering',
  grain inventory_id,
  -- The broken-load guard: a refused load stops this model before it is written (staging/bronze_loads.sql).
  depends_on (staging.bronze_loads),
  description 'Checked staging table built from bronze (its audits gate silver.dvd_inventory): one row per physical copy of a film in a store (public.inventory): the newest bronze copy of each inventory_id.',
  audits (
    not_null(columns := (inventory_id, film_id, store_id)),
    unique_values(columns := (inventory_id)),
    one_row_per_bronze_key(source := bronze.raw_dvd_inventory, keys := inventory_id)
  )
);

SELECT
  CAST(inventory_id AS INT) AS inventory_id, -- Primary key of the copy.
  CAST(film_id AS INT) AS film_id, -- The film on the disc (staging.dvd_film).
  CAST(store_id AS INT) AS store_id, -- The store that owns the copy.
  CAST(last_update AS TIMESTAMP_NTZ) AS last_update, -- Source row's last change.
  @airbyte_loaded_at() AS _loaded_at -- When Airbyte extracted this copy from the source (UTC instant).
FROM bronze.raw_dvd_inventory
QUALIFY @is_latest_extract(inventory_id)
