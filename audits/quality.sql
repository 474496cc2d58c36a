/*
  Data-quality audits for silver: rows that cannot be right, whatever the source says.

  They sit on silver on purpose. SQLMesh writes a model's table first and audits it after
  (`sqlmesh run` refills the physical table prod's view reads), and a blocking failure stops
  every model downstream. Catching bad rows in silver therefore keeps all of gold - and the
  answers read from gold.report_rentals - at the previous run's results. Each audit returns the
  offending rows, so the error shows how many and which (ingest/transform.py prints them).
*/

-- An event dated after the row was extracted from the source: a clock or typing error.
-- The source's timestamps are store-local without a zone, _loaded_at is a UTC instant: one
-- day of slack covers every time zone. NULLs pass (not_null says where they may not).
-- Args: column (a TIMESTAMP_NTZ event time of the model; the model has _loaded_at).
AUDIT (name not_in_future);
SELECT *
FROM @this_model
WHERE @column > CAST(_loaded_at AS TIMESTAMP_NTZ) + INTERVAL 1 DAY;

-- One event cannot precede another of the same row (a return before its rental).
-- NULLs pass (a rental not yet returned). Args: column (the later event), earlier (the earlier one).
AUDIT (name not_before);
SELECT *
FROM @this_model
WHERE @column < @earlier;
