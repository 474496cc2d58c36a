MODEL (
  name staging.bronze_loads,
  /* The broken-load guard (macros/load_guard.py, docs/reliability.md): every staging model depends on
     it, so when its blocking audit fails no staging table is written (no tombstone for a key a
     broken load lost) and silver and gold keep the previous run. It remembers, per table, the key
     count of the last load it accepted; a refused load leaves that count as it was, so two broken
     loads in a row are both refused. The signal first checks every bronze table still has the
     columns the models read, with their types (signals/bronze_schema.py). */
  kind INCREMENTAL_BY_UNIQUE_KEY (
    unique_key source_table
  ),
  cron '@daily',
  owner 'data-engineering',
  grain source_table,
  description 'The newest load of each bronze table against the last load accepted: keys, keys lost, values Airbyte changed (_airbyte_meta). One row per source table; its blocking audits (complete loads, fresh bronze) stop the run before any staging table is written.',
  signals (bronze_columns_as_declared()),
  audits (
    not_null(columns := (source_table, bronze_rows, bronze_keys, is_accepted, verdict)),
    unique_values(columns := (source_table)),
    load_is_complete(),
    -- One freshness check for all of bronze, here where it stops every staging model (audits/freshness.sql).
    bronze_is_fresh(sources := (
      bronze.raw_dvd_address, bronze.raw_dvd_category, bronze.raw_dvd_city, bronze.raw_dvd_country,
      bronze.raw_dvd_customer, bronze.raw_dvd_film, bronze.raw_dvd_film_category, bronze.raw_dvd_inventory,
      bronze.raw_dvd_language, bronze.raw_dvd_payment, bronze.raw_dvd_rental
    ))
  )
);

WITH current_loads AS (
  -- Each table's load, with the columns whose change by Airbyte makes a figure wrong (keys, references, measures).
  @bronze_load(address, address_id, (address_id, city_id))
  UNION ALL
  @bronze_load(category, category_id, (category_id))
  UNION ALL
  @bronze_load(city, city_id, (city_id, country_id))
  UNION ALL
  @bronze_load(country, country_id, (country_id))
  UNION ALL
  @bronze_load(customer, customer_id, (customer_id, address_id))
  UNION ALL
  @bronze_load(film, film_id, (film_id, language_id, rental_duration, rental_rate, replacement_cost))
  UNION ALL
  @bronze_load(film_category, (film_id, category_id), (film_id, category_id))
  UNION ALL
  @bronze_load(inventory, inventory_id, (inventory_id, film_id, store_id))
  UNION ALL
  @bronze_load(language, language_id, (language_id))
  UNION ALL
  @bronze_load(payment, payment_id, (payment_id, rental_id, customer_id, amount, payment_date))
  UNION ALL
  @bronze_load(rental, rental_id, (rental_id, inventory_id, customer_id, rental_date, return_date))
), against_last_accepted AS (
  -- The live keys: the key count of the last load this guard accepted (NULL before the first).
  SELECT
    load.source_table,
    load.bronze_rows,
    load.bronze_keys,
    load.changed_rows,
    load.guarded_changed_rows,
    load.accepted_keys_count,
    previous.accepted_keys AS live_keys,
    GREATEST(COALESCE(previous.accepted_keys, 0) - load.bronze_keys, 0) AS lost_keys,
    GREATEST(load.min_lost_keys, CAST(FLOOR(load.max_lost_fraction * COALESCE(previous.accepted_keys, 0)) AS BIGINT)) AS max_lost_keys
  FROM current_loads AS load
  LEFT JOIN @this_model AS previous
    ON previous.source_table = load.source_table
), judged AS (
  SELECT
    *,
    CASE
      WHEN accepted_keys_count = bronze_keys THEN 'accepted for this load by DVD_ACCEPT_MASS_DELETION'
      WHEN guarded_changed_rows > 0 THEN CONCAT('refused: Airbyte changed ', CAST(guarded_changed_rows AS STRING), ' rows on a key or measure column (_airbyte_meta)')
      WHEN bronze_keys = 0 AND COALESCE(live_keys, 1) > 0 THEN 'refused: the load is empty'
      WHEN lost_keys > max_lost_keys THEN CONCAT('refused: it would delete ', CAST(lost_keys AS STRING), ' of ', CAST(live_keys AS STRING), ' live keys (at most ', CAST(max_lost_keys AS STRING), ' in one run)')
      WHEN live_keys IS NULL THEN 'first load'
      ELSE 'ok'
    END AS verdict
  FROM against_last_accepted
)
SELECT
  CAST(source_table AS STRING) AS source_table, -- The source table (public.<source_table>, bronze.raw_dvd_<source_table>).
  CAST(bronze_rows AS BIGINT) AS bronze_rows, -- Rows in its bronze table now.
  CAST(bronze_keys AS BIGINT) AS bronze_keys, -- Distinct primary keys in its bronze table now.
  CAST(live_keys AS BIGINT) AS live_keys, -- Keys of the last load this guard accepted (what staging and silver hold); NULL before the first.
  CAST(lost_keys AS BIGINT) AS lost_keys, -- Live keys this load would delete (net: live minus bronze keys, never below 0).
  CAST(max_lost_keys AS BIGINT) AS max_lost_keys, -- The most keys one load may delete (load_guard_* variables in config.yaml).
  CAST(changed_rows AS BIGINT) AS changed_rows, -- Rows whose _airbyte_meta lists a value Airbyte changed or nulled (reported).
  CAST(guarded_changed_rows AS BIGINT) AS guarded_changed_rows, -- Of those, rows changed on a key, reference or measure column (refused).
  CAST(NOT STARTSWITH(verdict, 'refused') AS BOOLEAN) AS is_accepted, -- FALSE stops the run before any staging table is written.
  CAST(verdict AS STRING) AS verdict, -- Why the load was accepted or refused, in words.
  CAST(CASE WHEN NOT STARTSWITH(verdict, 'refused') THEN bronze_keys ELSE live_keys END AS BIGINT) AS accepted_keys, -- Live keys for the next run: this load's if accepted, else the last accepted load's.
  @changed_at() AS _changed_at -- End of the interval whose run judged this load.
FROM judged;

/* Fails for every load refused, one row each: the table, its live and bronze key counts, why, and the
   setting that accepts exactly this load once (a real mass deletion in the source). */
AUDIT (name load_is_complete);
SELECT
  source_table,
  live_keys,
  bronze_keys,
  verdict,
  CONCAT('DVD_ACCEPT_MASS_DELETION=', source_table, ':', CAST(bronze_keys AS STRING)) AS to_accept_this_load
FROM @this_model
WHERE NOT is_accepted
