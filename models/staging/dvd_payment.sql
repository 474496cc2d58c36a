MODEL (
  name staging.dvd_payment,
  /* Change-driven like staging.dvd_rental (macros/changes.py): only new, changed or deleted
     payments are written; a deleted payment stays as a tombstone so gold.fact_rental recomputes
     its rental. */
  kind INCREMENTAL_BY_UNIQUE_KEY (
    unique_key payment_id
  ),
  cron '@daily',
  owner 'data-engineering',
  grain payment_id,
  description 'Checked staging table of payments (public.payment): one row per payment_id ever loaded, the newest bronze copy typed as in the source, or a tombstone once the payment left the source. Its audits gate silver.dvd_payment; a payment whose rental is missing is kept and flagged (docs/reliability.md).',
  -- The rental the non-blocking referential audit checks.
  depends_on (staging.bronze_loads, staging.dvd_rental),
  audits (
    -- Row checks look at the rows this run wrote (and any a failed run left): the rest passed them before.
    not_null(columns := (payment_id, customer_id, rental_id, amount, payment_date), condition := @written_since_interval_start()),
    unique_values(columns := (payment_id), condition := @written_since_interval_start()),
    accepted_range(column := amount, min_v := 0, condition := @written_since_interval_start()),
    not_in_future(column := payment_date, condition := @written_since_interval_start()),
    references_dimension(column := rental_id, dimension := staging.dvd_rental, dimension_column := rental_id, condition := @written_since_interval_start(), blocking := false),
    one_row_per_bronze_key(source := bronze.raw_dvd_payment, keys := payment_id, condition := NOT _is_deleted)
  )
);

-- The source columns whose change is a change of the payment (the key is compared by the join; the
-- same raw bronze columns are hashed in both places below, so the hashes compare).
@DEF(content_columns, (customer_id, staff_id, rental_id, amount, payment_date));

WITH bronze_hashes AS (
  -- Key and content hash of every bronze copy (Airbyte can hold more than one copy of a key).
  SELECT
    CAST(payment_id AS INT) AS payment_id,
    @content_hash(@content_columns) AS _content_hash
  FROM bronze.raw_dvd_payment
), changed_keys AS (
  -- Payments new, changed, back, or gone from bronze since the rows this table holds.
  @changed_keys(bronze_hashes, @this_model, payment_id)
), newest_changed_copies AS (
  -- The newest bronze copy of each new or changed payment, typed as in the source.
  SELECT
    CAST(payment_id AS INT) AS payment_id,
    CAST(customer_id AS INT) AS customer_id,
    CAST(staff_id AS INT) AS staff_id,
    CAST(rental_id AS INT) AS rental_id,
    @airbyte_number(amount, 5, 2) AS amount,
    CAST(payment_date AS TIMESTAMP_NTZ) AS payment_date,
    @airbyte_loaded_at() AS _loaded_at,
    @content_hash(@content_columns) AS _content_hash
  FROM bronze.raw_dvd_payment
  -- A build from the start of the history takes every key (@changes_only drops the filter).
  WHERE @changes_only(CAST(payment_id AS INT) IN (SELECT payment_id FROM changed_keys WHERE NOT is_gone))
  QUALIFY @is_latest_extract(payment_id)
)
SELECT
  copy.payment_id, -- Primary key of the payment.
  copy.customer_id, -- Who paid (staging.dvd_customer).
  copy.staff_id, -- Staff member who took the payment.
  copy.rental_id, -- The rental paid for (staging.dvd_rental); a rental can have several payments or none.
  copy.amount, -- Amount paid (source numeric(5,2)).
  copy.payment_date, -- When it was paid (the sample pays 2005 rentals in 2007).
  copy._loaded_at, -- When Airbyte extracted this version from the source (UTC instant).
  copy._content_hash, -- @content_hash of the source columns: how the next run sees a change.
  CAST(stored.rental_id AS INT) AS _previous_rental_id, -- rental_id of the version this one replaced (NULL if new): gold.fact_rental recomputes that rental too when a payment moves.
  FALSE AS _is_deleted, -- TRUE for a tombstone: the payment left the source (the other columns keep its last version).
  @changed_at() AS _changed_at -- End of the interval whose run wrote this version (downstream takes _changed_at >= its @start_ts).
FROM newest_changed_copies AS copy
-- The stored version this copy replaces, for _previous_rental_id (nothing stored on a first build;
-- the CAST there because SQLMesh cannot infer the type of a column the model reads from itself).
LEFT JOIN @this_model AS stored
  ON stored.payment_id = copy.payment_id
UNION ALL
SELECT
  stored.payment_id,
  stored.customer_id,
  stored.staff_id,
  stored.rental_id,
  stored.amount,
  stored.payment_date,
  stored._loaded_at,
  stored._content_hash,
  stored.rental_id AS _previous_rental_id,
  TRUE AS _is_deleted,
  @changed_at() AS _changed_at
FROM @this_model AS stored
WHERE stored.payment_id IN (SELECT payment_id FROM changed_keys WHERE is_gone)
