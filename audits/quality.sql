/*
  Data-quality audits for silver: rows that cannot be right, whatever the source says.

  They sit on silver on purpose. SQLMesh writes a model's table first and audits it after
  (`sqlmesh run` refills the physical table prod's view reads), and a blocking failure stops
  every model downstream. Catching bad rows in silver therefore keeps all of gold - and the
  answers read from gold.report_rentals - at the previous run's results. Each audit returns the
  offending rows, so the error shows how many and which (ingest/transform.py prints them).
*/

-- An event dated well after the row was extracted from the source: a clock or typing error
-- (a wrong year, a swapped day and month). The source's timestamps are store-local without a
-- zone and _loaded_at is a UTC instant, so some slack is needed anyway; it is
-- @future_tolerance_days (config.yaml `variables:` may set it; default 7). The tests' own
-- scenarios date a rental a couple of days ahead of the load (tests/models/test_fact_rental_incremental.py),
-- which is within it. NULLs pass (not_null says where they may not).
-- Args: column (a TIMESTAMP_NTZ event time of the model; the model has _loaded_at); condition
-- (default TRUE) limits the rows checked, e.g. to those a change-driven model wrote in this run.
AUDIT (name not_in_future, defaults (condition = TRUE));
SELECT *
FROM @this_model
WHERE @condition AND @column > TIMESTAMPADD(DAY, @VAR('future_tolerance_days', 7), CAST(_loaded_at AS TIMESTAMP_NTZ));

-- One event cannot precede another of the same row (a return before its rental).
-- NULLs pass (a rental not yet returned). Args: column (the later event), earlier (the earlier one),
-- condition (default TRUE) as for not_in_future.
AUDIT (name not_before, defaults (condition = TRUE));
SELECT *
FROM @this_model
WHERE @condition AND @column < @earlier;
