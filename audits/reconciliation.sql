/*
  Reconciliation audits: row counts that must agree between layers.
  Each returns one row (the two counts side by side) when they differ, nothing when they agree.
*/

-- Staging (and so silver) keeps exactly one row per source primary key: rows = distinct keys in
-- its bronze table. Args: source (the bronze table), keys (the primary key column or tuple),
-- condition (default TRUE): the model's rows that count, e.g. NOT _is_deleted to leave out tombstones;
-- bronze_condition (default TRUE): the bronze rows that count, e.g. leaving out rows the model
-- leaves for the next run.
AUDIT (name one_row_per_bronze_key, defaults (condition = TRUE, bronze_condition = TRUE));
WITH bronze_keys AS (
  SELECT COUNT(*) AS key_count
  FROM (SELECT @keys FROM @source WHERE @bronze_condition GROUP BY @keys) AS distinct_keys
), model_rows AS (
  SELECT COUNT(*) AS row_count
  FROM @this_model
  WHERE @condition
)
SELECT
  bronze_keys.key_count AS bronze_distinct_keys,
  model_rows.row_count AS model_rows
FROM bronze_keys
CROSS JOIN model_rows
WHERE bronze_keys.key_count <> model_rows.row_count;

-- The model has as many rows as another relation (e.g. one row per rental in every rental table).
-- Args: other (the relation to compare with).
AUDIT (name row_count_matches);
WITH other_rows AS (
  SELECT COUNT(*) AS row_count
  FROM @other
), model_rows AS (
  SELECT COUNT(*) AS row_count
  FROM @this_model
)
SELECT
  other_rows.row_count AS other_rows,
  model_rows.row_count AS model_rows
FROM other_rows
CROSS JOIN model_rows
WHERE other_rows.row_count <> model_rows.row_count;
