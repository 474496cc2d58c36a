MODEL (
  name staging.dvd_rental,
  /* Change-driven: bronze is a full refresh, but only the rentals that are new, changed or gone
     since the stored rows are written (macros/changes.py). A deleted rental stays as a tombstone
     (_is_deleted) so silver and gold delete it too. A new or changed rental whose copy or customer
     has not reached bronze yet waits for the next run (rentals_waiting_for_references). */
  kind INCREMENTAL_BY_UNIQUE_KEY (
    unique_key rental_id
  ),
  cron '@daily',
  owner 'data-engineering',
  grain rental_id,
  description 'Checked staging table of rentals (public.rental): one row per rental_id ever loaded, the newest bronze copy typed as in the source, or a tombstone once the rental left the source; a rental whose references are not in bronze yet waits for the next run. Its audits gate silver.dvd_rental (docs/reliability.md).',
  /* The referential audits check the copy and the customer against the same load's bronze, not
     staging.dvd_inventory / staging.dvd_customer: audits resolve only tables the model depends on,
     and depending on a reference model would make every change to it (a reformatted column, a
     comment) a change of this model and of everything built on it, i.e. a rebuild of every event
     table. Bronze is external (edits to models never change it) and holds the same keys: the
     reference staging tables are its newest copy of each key. */
  depends_on (staging.bronze_loads, bronze.raw_dvd_inventory, bronze.raw_dvd_customer, bronze.raw_dvd_film, bronze.raw_dvd_address),
  audits (
    -- Row checks look at the rows this run wrote (and any a failed run left): the rest passed them before.
    not_null(columns := (rental_id, rental_date, inventory_id, customer_id, staff_id), condition := @written_since_interval_start()),
    unique_values(columns := (rental_id), condition := @written_since_interval_start()),
    references_dimension(column := inventory_id, dimension := bronze.raw_dvd_inventory, dimension_column := inventory_id, condition := NOT _is_deleted),
    references_dimension(column := customer_id, dimension := bronze.raw_dvd_customer, dimension_column := customer_id, condition := NOT _is_deleted),
    not_before(column := return_date, earlier := rental_date, condition := @written_since_interval_start()),
    not_in_future(column := rental_date, condition := @written_since_interval_start()),
    not_in_future(column := return_date, condition := @written_since_interval_start()),
    -- A rental waiting for its references counts once written; one changed longer ago cannot be waiting.
    one_row_per_bronze_key(source := bronze.raw_dvd_rental, keys := rental_id, condition := NOT _is_deleted,
      bronze_condition := NOT @changed_near_extract(last_update, _airbyte_extracted_at) OR CAST(rental_id AS INT) IN (SELECT rental_id FROM staging.dvd_rental WHERE NOT _is_deleted))
  )
);

-- The source columns whose change is a change of the rental (the key is compared by the join; the
-- same raw bronze columns are hashed in both places below, so the hashes compare).
@DEF(content_columns, (rental_date, inventory_id, customer_id, return_date, staff_id, last_update));

WITH bronze_hashes AS (
  -- Key and content hash of every bronze copy (Airbyte can hold more than one copy of a key).
  SELECT
    CAST(rental_id AS INT) AS rental_id,
    @content_hash(@content_columns) AS _content_hash
  FROM bronze.raw_dvd_rental
), changed_keys AS (
  -- Rentals new, changed, back, or gone from bronze since the rows this table holds.
  @changed_keys(bronze_hashes, @this_model, rental_id)
), newest_changed_copies AS (
  -- The newest bronze copy of each new or changed rental, typed as in the source.
  SELECT
    CAST(rental_id AS INT) AS rental_id,
    CAST(rental_date AS TIMESTAMP_NTZ) AS rental_date,
    CAST(inventory_id AS INT) AS inventory_id,
    CAST(customer_id AS INT) AS customer_id,
    CAST(return_date AS TIMESTAMP_NTZ) AS return_date,
    CAST(staff_id AS INT) AS staff_id,
    CAST(last_update AS TIMESTAMP_NTZ) AS last_update,
    @airbyte_loaded_at() AS _loaded_at,
    @content_hash(@content_columns) AS _content_hash
  FROM bronze.raw_dvd_rental
  -- A build from the start of the history takes every key (@changes_only drops the filter).
  WHERE @changes_only(CAST(rental_id AS INT) IN (SELECT rental_id FROM changed_keys WHERE NOT is_gone))
  QUALIFY @is_latest_extract(rental_id)
), complete_copies AS (
  /* Copies whose film is in bronze too (on the Airbyte path the two come from different stream
     reads). Read from bronze, like the referential audits, so this model does not depend on the
     reference models (see depends_on above). */
  SELECT
    CAST(inventory.inventory_id AS INT) AS inventory_id
  FROM bronze.raw_dvd_inventory AS inventory
  JOIN bronze.raw_dvd_film AS film
    ON film.film_id = inventory.film_id
), complete_customers AS (
  -- Customers whose address is in bronze too (the same reason).
  SELECT
    CAST(customer.customer_id AS INT) AS customer_id
  FROM bronze.raw_dvd_customer AS customer
  JOIN bronze.raw_dvd_address AS address
    ON address.address_id = customer.address_id
), first_reference_read AS (
  -- When the first of the streams a rental points into was read (the same moment on the local path).
  SELECT
    LEAST(
      (SELECT MIN(@airbyte_loaded_at()) FROM bronze.raw_dvd_inventory),
      (SELECT MIN(@airbyte_loaded_at()) FROM bronze.raw_dvd_film),
      (SELECT MIN(@airbyte_loaded_at()) FROM bronze.raw_dvd_customer),
      (SELECT MIN(@airbyte_loaded_at()) FROM bronze.raw_dvd_address)
    ) AS read_at
), rentals_waiting_for_references AS (
  /* Rentals read after those streams and changed within a day of it, pointing at a copy or
     customer not complete in bronze: inserted between two of Airbyte's stream reads, their
     references arrive with the next sync. Left for the next run; one still incomplete a day later,
     or any on the local path (one snapshot), is written and fails the referential audits. */
  SELECT
    rental.rental_id
  FROM newest_changed_copies AS rental
  CROSS JOIN first_reference_read
  WHERE
    rental._loaded_at > first_reference_read.read_at
    AND @changed_near_extract(rental.last_update, rental._loaded_at)
    AND (
      rental.inventory_id NOT IN (SELECT inventory_id FROM complete_copies)
      OR rental.customer_id NOT IN (SELECT customer_id FROM complete_customers)
    )
)
SELECT
  rental_id, -- Primary key of the rental.
  rental_date, -- When the item was handed out (store local time, no zone).
  inventory_id, -- The rented copy (staging.dvd_inventory).
  customer_id, -- Who rented it (staging.dvd_customer).
  return_date, -- When it came back; NULL while not returned.
  staff_id, -- The staff member who handed it out.
  last_update, -- Source row's last change (nearly constant in the sample: not a watermark).
  _loaded_at, -- When Airbyte extracted this version from the source (UTC instant).
  _content_hash, -- @content_hash of the source columns: how the next run sees a change.
  FALSE AS _is_deleted, -- TRUE for a tombstone: the rental left the source (the other columns keep its last version).
  @changed_at() AS _changed_at -- End of the interval whose run wrote this version (downstream takes _changed_at >= its @start_ts).
FROM newest_changed_copies
WHERE
  rental_id NOT IN (SELECT rental_id FROM rentals_waiting_for_references)
UNION ALL
SELECT
  stored.rental_id,
  stored.rental_date,
  stored.inventory_id,
  stored.customer_id,
  stored.return_date,
  stored.staff_id,
  stored.last_update,
  stored._loaded_at,
  stored._content_hash,
  TRUE AS _is_deleted,
  @changed_at() AS _changed_at
FROM @this_model AS stored
WHERE stored.rental_id IN (SELECT rental_id FROM changed_keys WHERE is_gone)
