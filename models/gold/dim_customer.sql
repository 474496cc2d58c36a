MODEL (
  name gold.dim_customer,
  /* Type-2 history by the time the source changed, not by when the pipeline noticed: SQLMesh's
     SCD_TYPE_2_BY_TIME opens a new version when source_changed_at moves past the stored one and
     starts it there. The query works that time out per customer against the version it holds
     (@this_model, hence the casts: a model reading itself needs its column types): unchanged -> the stored time (no new version); changed and customer.last_update
     moved -> last_update (the source's trigger sets it on every UPDATE); changed but last_update
     did not move -> the extraction time, the best the pipeline knows (never the later run time). */
  kind SCD_TYPE_2_BY_TIME (
    unique_key customer_id,
    updated_at_name source_changed_at,
    -- valid_from/valid_to hold naive timestamps, comparable with rental_date (TIMESTAMP_NTZ).
    time_data_type TIMESTAMP_NTZ
  ),
  cron '@daily',
  -- SQLMesh adds valid_from/valid_to to the table; the linter resolves @this_model by the query's
  -- own columns, so the stored versions' valid_to looks unknown to it.
  ignored_rules (ambiguousorinvalidcolumn),
  owner 'analytics-engineering',
  grain (customer_id, valid_from),
  description 'Customer dimension with type-2 history: one row per customer version, keyed by (customer_id, valid_from), valid_to NULL for the current version. First versions are valid from 1970-01-01 so every rental finds one; a later version starts when the source changed the customer (docs/models.md).',
  /* All column descriptions here, not as comments after the columns: SQLMesh adds valid_from and
     valid_to (no SELECT to comment), and a column_descriptions block replaces the comments. */
  column_descriptions (
    customer_id = 'The customer (source customer_id); several versions share it.',
    store_id = 'Home store.',
    first_name = 'First name.',
    last_name = 'Last name.',
    email = 'E-mail address.',
    address_id = 'Address in this version (gold.dim_address); a move opens a new version.',
    is_active = 'Whether the customer is active.',
    create_date = 'Date the customer was created in the source.',
    source_changed_at = 'When the source changed the customer to this version: customer.last_update if the change moved it, else the extraction time.',
    _changed_at = 'End of the interval whose run wrote this version (gold.fact_rental recomputes the rentals of customers with a version written since its start).',
    valid_from = 'Start of this version (inclusive): 1970-01-01 for a first version, else its source_changed_at.',
    valid_to = 'End of this version (exclusive): when the next version starts; NULL while it is current.'
  ),
  audits (
    not_null(columns := (customer_id, valid_from, address_id, first_name, last_name, source_changed_at, _changed_at)),
    unique_combination_of_columns(columns := (customer_id, valid_from))
  )
);

WITH current_customers AS (
  -- The customers as the latest load saw them, with the tracked columns named as in this table.
  SELECT
    customer_id,
    store_id,
    first_name,
    last_name,
    email,
    address_id,
    activebool AS is_active,
    create_date,
    last_update,
    CAST(_loaded_at AS TIMESTAMP_NTZ) AS extracted_at
  FROM silver.dvd_customer
), stored_versions AS (
  -- The version this table holds open for each customer (empty on a first build).
  SELECT
    *
  FROM @this_model
  WHERE
    valid_to IS NULL
), customer_changes AS (
  SELECT
    current_customers.*,
    stored_versions.customer_id IS NULL AS is_new,
    stored_versions.source_changed_at AS stored_changed_at,
    @any_differs(
      (stored_versions.store_id, current_customers.store_id),
      (stored_versions.first_name, current_customers.first_name),
      (stored_versions.last_name, current_customers.last_name),
      (stored_versions.email, current_customers.email),
      (stored_versions.address_id, current_customers.address_id),
      (stored_versions.is_active, current_customers.is_active),
      (stored_versions.create_date, current_customers.create_date)
    ) AS has_changed
  FROM current_customers
  LEFT JOIN stored_versions
    ON stored_versions.customer_id = current_customers.customer_id
)
SELECT
  CAST(customer_id AS INT) AS customer_id,
  CAST(store_id AS INT) AS store_id,
  CAST(first_name AS STRING) AS first_name,
  CAST(last_name AS STRING) AS last_name,
  CAST(email AS STRING) AS email,
  CAST(address_id AS INT) AS address_id,
  CAST(is_active AS BOOLEAN) AS is_active,
  CAST(create_date AS DATE) AS create_date,
  CAST(
    CASE
      WHEN is_new THEN last_update
      WHEN NOT has_changed THEN stored_changed_at
      WHEN last_update > stored_changed_at THEN last_update
      -- a second later than the stored time at least: an earlier one would make SQLMesh drop the change
      ELSE GREATEST(extracted_at, stored_changed_at + INTERVAL 1 SECOND)
    END AS TIMESTAMP_NTZ
  ) AS source_changed_at,
  @changed_at() AS _changed_at
FROM customer_changes
