MODEL (
  name gold.dim_customer,
  kind SCD_TYPE_2_BY_COLUMN (
    unique_key customer_id,
    -- Every descriptive column is tracked: a change to any of them opens a new version.
    columns [store_id, first_name, last_name, email, address_id, is_active, create_date],
    -- valid_from/valid_to hold naive timestamps, comparable with rental_date (TIMESTAMP_NTZ).
    time_data_type TIMESTAMP_NTZ
  ),
  cron '@daily',
  owner 'analytics-engineering',
  grain (customer_id, valid_from),
  description 'Customer dimension with type-2 history: one row per customer version, keyed by (customer_id, valid_from), valid_to NULL for the current version. The first versions are valid from 1970-01-01 so every rental finds one, and a customer deleted in the source has its last version closed (docs/models.md).',
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
    valid_from = 'Start of this version (inclusive). 1970-01-01 for versions from the first load.',
    valid_to = 'End of this version (exclusive); NULL while it is current.'
  ),
  audits (
    not_null(columns := (customer_id, valid_from, address_id, first_name, last_name)),
    unique_combination_of_columns(columns := (customer_id, valid_from))
  )
);

SELECT
  customer_id,
  store_id,
  first_name,
  last_name,
  email,
  address_id,
  activebool AS is_active,
  create_date
FROM silver.dvd_customer
