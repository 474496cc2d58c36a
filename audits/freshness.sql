/*
  Freshness: the newest row Airbyte extracted into each bronze table is younger than
  @freshness_max_age_hours (config.yaml `variables:`, default 26 hours = a daily load plus slack).

  Attached once, to the broken-load guard (models/staging/bronze_loads.sql), which every staging
  model depends on: a stale table stops the run before any staging table is written. One audit
  over the eleven tables instead of one per staging model: on Databricks each audit is two
  statements (SQLMesh looks up the audited table's columns first) and each statement about five
  HTTPS round trips (benchmarks/RESULTS.md, 'Production cost through the Databricks SQL connector').
  Compared with the current time, never with the interval being processed: a backfill or a unit
  test of old dates does not trip it. `sqlmesh test` does not run audits at all.
  A failing row names the bronze table, its newest extract and its age in hours; `dvdrental`
  (dvdrental/warehouse/failures.py) prints those rows with the error.
  Args: sources (the bronze tables, a tuple).
*/
AUDIT (name bronze_is_fresh);
WITH newest AS (
  @newest_extracts(@sources)
)
SELECT
  bronze_table,
  newest_extracted_at,
  TIMESTAMPDIFF(MINUTE, newest_extracted_at, CURRENT_TIMESTAMP()) / 60.0 AS age_hours,
  @VAR('freshness_max_age_hours', 26) AS max_age_hours
FROM newest
WHERE
  newest_extracted_at IS NULL
  OR TIMESTAMPDIFF(MINUTE, newest_extracted_at, CURRENT_TIMESTAMP()) > 60 * @VAR('freshness_max_age_hours', 26);
