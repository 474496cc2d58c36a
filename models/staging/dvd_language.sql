MODEL (
  name staging.dvd_language,
  kind FULL,
  cron '@daily',
  owner 'data-engineering',
  grain language_id,
  -- The broken-load guard: a refused load stops this model before it is written (staging/bronze_loads.sql).
  depends_on (staging.bronze_loads),
  description 'Checked staging table built from bronze (its audits gate silver.dvd_language): one row per language (public.language): the newest bronze copy of each language_id. The source pads names (char(20)); they are trimmed here.',
  audits (
    not_null(columns := (language_id, name)),
    unique_values(columns := (language_id)),
    one_row_per_bronze_key(source := bronze.raw_dvd_language, keys := language_id)
  )
);

SELECT
  CAST(language_id AS INT) AS language_id, -- Primary key of the language.
  TRIM(name) AS name, -- Language name, e.g. English (source char(20), trailing blanks removed).
  CAST(last_update AS TIMESTAMP_NTZ) AS last_update, -- Source row's last change.
  @airbyte_loaded_at() AS _loaded_at -- When Airbyte extracted this copy from the source (UTC instant).
FROM bronze.raw_dvd_language
QUALIFY @is_latest_extract(language_id)
