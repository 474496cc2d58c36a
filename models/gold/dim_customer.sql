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
  owner 'analytics-engineering',
  grain (customer_id, valid_from),
  description 'Customer dimension, type-2 history across the daily full loads: one row per customer version. (customer_id, valid_from) is the version key the facts store. The first version of every customer is valid from 1970-01-01 (SQLMesh''s default for SCD_TYPE_2_BY_TIME: updated_at_as_valid_from stays false) so rentals older than the first load find it; a later version starts when the source changed the customer (source_changed_at: customer.last_update, or the extraction time when a change left last_update as it was); valid_to is NULL for the current version. A customer deleted in the source keeps its last version open (invalidate_hard_deletes stays false, SQLMesh''s default), so its rentals keep finding it.',
  column_descriptions (
    valid_from = 'Start of this version (inclusive): 1970-01-01 for a first version, else its source_changed_at.',
    valid_to = 'End of this version (exclusive): the next version''s valid_from; NULL while it is current.'
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
    NOT (
      current_customers.store_id <=> stored_versions.store_id
      AND current_customers.first_name <=> stored_versions.first_name
      AND current_customers.last_name <=> stored_versions.last_name
      AND current_customers.email <=> stored_versions.email
      AND current_customers.address_id <=> stored_versions.address_id
      AND current_customers.is_active <=> stored_versions.is_active
      AND current_customers.create_date <=> stored_versions.create_date
    ) AS has_changed
  FROM current_customers
  LEFT JOIN stored_versions
    ON stored_versions.customer_id = current_customers.customer_id
)
SELECT
  CAST(customer_id AS INT) AS customer_id, -- The customer (source customer_id); several versions share it.
  CAST(store_id AS INT) AS store_id, -- Home store.
  CAST(first_name AS STRING) AS first_name, -- First name.
  CAST(last_name AS STRING) AS last_name, -- Last name.
  CAST(email AS STRING) AS email, -- E-mail address.
  CAST(address_id AS INT) AS address_id, -- Address in this version (gold.dim_address); a move opens a new version.
  CAST(is_active AS BOOLEAN) AS is_active, -- Whether the customer is active.
  CAST(create_date AS DATE) AS create_date, -- Date the customer was created in the source.
  CAST(
    CASE
      WHEN is_new THEN last_update
      WHEN NOT has_changed THEN stored_changed_at
      WHEN last_update > stored_changed_at THEN last_update
      -- a second later than the stored time at least: an earlier one would make SQLMesh drop the change
      ELSE GREATEST(extracted_at, stored_changed_at + INTERVAL 1 SECOND)
    END AS TIMESTAMP_NTZ
  ) AS source_changed_at, -- When the source changed the customer to this version: customer.last_update if the change moved it, else the extraction time.
  @changed_at() AS _changed_at -- End of the interval whose run wrote this version (gold.fact_rental recomputes the customer's rentals when it is >= its @start_ts).
FROM customer_changes
