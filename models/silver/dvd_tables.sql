/* Silver: the published copy of each checked staging table of reference data (small tables,
   copied whole every day); the event tables rental and payment are in dvd_events.sql.

   Why a copy: `sqlmesh run` writes a model and then audits it, so an audited table shows its new
   rows even when a blocking audit fails. The checks therefore run on staging.dvd_<table> (tables
   built from bronze, nobody's interface), and silver is refreshed only when every one of them passed:
   a failed audit stops here and silver and gold keep the previous run's rows.
   Column meanings are documented once, on the staging table each copy reads. */
MODEL (
  name silver.dvd_@{source_table},
  kind FULL,
  cron '@daily',
  owner 'data-engineering',
  grain @grain,
  description 'One row per source row, typed as in the source: the published copy of the staging table with the same name (staging.dvd_<table>). Refreshed only after all of its audits passed; column descriptions: see that model.',
  /* Built-in lint rules a copy cannot meet: it publishes its staging table as it is (SELECT *, its
     column descriptions are on that table: nomissingcolumndescriptions checks them there), it has
     no audits of its own (they run on the staging table, before silver is written), and the
     blueprint is unit-tested through silver.dvd_film_category (tests/models/test_silver_copies.yaml), its copies
     differing only by table name. */
  ignored_rules (noselectstar, nomissingaudits, nomissingunittest),
  blueprints (
    (source_table := address, grain := address_id),
    (source_table := category, grain := category_id),
    (source_table := city, grain := city_id),
    (source_table := country, grain := country_id),
    (source_table := customer, grain := customer_id),
    (source_table := film, grain := film_id),
    (source_table := film_category, grain := (film_id, category_id)),
    (source_table := inventory, grain := inventory_id),
    (source_table := language, grain := language_id)
  )
);

SELECT
  *
FROM staging.dvd_@{source_table}
