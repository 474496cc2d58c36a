/*
  Freshness: the newest row Airbyte extracted into a bronze table is younger than
  @freshness_max_age_hours (config.yaml `variables:`, default 26 hours = a daily load plus slack).

  Attached to the silver models (kind FULL, so there are no historical intervals to backfill) and
  compared with the current time, never with the interval being processed: a backfill or a
  unit test of old dates does not trip it. `sqlmesh test` does not run audits at all.
  The failing row names the bronze table, its newest extract and its age in hours; `dvdrental`
  (ingest/transform.py) prints those rows with the error. Args: source (the bronze table).
*/
AUDIT (name bronze_is_fresh);
WITH newest AS (
  SELECT MAX(_airbyte_extracted_at) AS newest_extracted_at
  FROM @source
)
SELECT
  @name_of(@source) AS bronze_table,
  newest_extracted_at,
  TIMESTAMPDIFF(MINUTE, newest_extracted_at, CURRENT_TIMESTAMP()) / 60.0 AS age_hours,
  @VAR('freshness_max_age_hours', 26) AS max_age_hours
FROM newest
WHERE
  newest_extracted_at IS NULL
  OR TIMESTAMPDIFF(MINUTE, newest_extracted_at, CURRENT_TIMESTAMP()) > 60 * @VAR('freshness_max_age_hours', 26);
