/*
  Referential integrity: every non-NULL key in the model finds its row in the dimension.
  Returns the dangling keys. Args: column (the key in this model), dimension (the dimension
  model), dimension_column (its key). A NULL key is allowed here (e.g. the return date key
  of a rental not yet returned); not_null audits say where it is not.
  The model must depend on the dimension (query or `depends_on`) so the dimension is built first.
  A staging model checks against the other table's bronze (an external model) rather than its
  staging model, so a change to the reference model does not change the event models
  (models/staging/dvd_rental.sql says why).
  condition (default TRUE) limits the rows checked, e.g. leaving out tombstones.
*/
AUDIT (name references_dimension, defaults (condition = TRUE));
SELECT DISTINCT
  @column AS dangling_key
FROM @this_model
WHERE
  @condition
  AND @column IS NOT NULL
  AND @column NOT IN (
    SELECT @dimension_column FROM @dimension WHERE @dimension_column IS NOT NULL
  );
