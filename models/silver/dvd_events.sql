/* Silver for the event tables (rental, payment): the published copy of the change-driven staging
   tables, refreshed by change like them (the reference tables are copied whole: dvd_tables.sql).

   Each run copies the rows its staging table wrote for this interval (_changed_at >= @start_ts)
   and deletes the keys staging turned into tombstones; a failed staging audit stops the run
   before this model, and the retried interval brings the rows over once they pass. */
MODEL (
  name silver.dvd_@{source_table},
  kind INCREMENTAL_BY_UNIQUE_KEY (
    unique_key @{grain}
  ),
  cron '@daily',
  owner 'data-engineering',
  grain @{grain},
  description 'One row per source row, typed as in the source: the published copy of the staging table with the same name (staging.dvd_<table>), without its tombstones. Refreshed by change once all of its audits passed; column descriptions: see that model.',
  /* The built-in lint rules a copy cannot meet, for the reasons in dvd_tables.sql; this blueprint
     is unit-tested through silver.dvd_rental (tests/models/test_silver_copies.yaml). */
  ignored_rules (noselectstar, nomissingaudits, nomissingunittest),
  blueprints (
    (source_table := payment, grain := payment_id),
    (source_table := rental, grain := rental_id)
  )
);

SELECT
  * EXCEPT (_content_hash, _is_deleted)
FROM staging.dvd_@{source_table}
WHERE
  NOT _is_deleted AND _changed_at >= @start_ts;

-- Keys deleted in the source leave silver too (after the merge, only when really evaluating).
@delete_tombstoned_keys(@{grain}, staging.dvd_@{source_table}, _is_deleted);
