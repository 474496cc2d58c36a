MODEL (
  name gold.report_rentals,
  /* Change-driven like gold.fact_rental: a run rewrites the rentals the fact rewrote in its
     interval and those whose film or address attributes changed; deleted rentals leave. */
  kind INCREMENTAL_BY_UNIQUE_KEY (
    unique_key rental_id
  ),
  cron '@daily',
  owner 'analytics-engineering',
  grain rental_id,
  description 'The one big table for dashboards: one row per rental (the rows of gold.fact_rental) with every attribute the business questions need flattened in. Customer, city and country are those of the customer version valid at rental time.',
  audits (
    -- Row checks look at the rows this run wrote; the row count at the whole table.
    not_null(columns := (rental_id, rental_date, rental_iso_day_of_week, rental_day_name, film_title, customer_name, payment_amount, payment_count, is_returned), condition := _changed_at >= @start_ts),
    unique_values(columns := (rental_id), condition := _changed_at >= @start_ts),
    row_count_matches(other := gold.fact_rental),
    accepted_values(column := film_rating, is_in := ('G', 'PG', 'PG-13', 'R', 'NC-17'), condition := _changed_at >= @start_ts),
    accepted_range(column := rental_iso_day_of_week, min_v := 1, max_v := 7, condition := _changed_at >= @start_ts)
  )
);

WITH rentals_to_refresh AS (
  -- Rentals the fact rewrote in this interval, and rentals whose film or address reads differently now.
  SELECT rental_id FROM gold.fact_rental WHERE _changed_at >= @start_ts
  UNION
  SELECT
    stored.rental_id
  FROM @this_model AS stored
  LEFT JOIN gold.dim_film AS film
    ON film.film_id = stored.film_id
  LEFT JOIN gold.dim_address AS address
    ON address.address_id = stored.address_id
  WHERE
    @any_differs(
      (stored.film_title, film.title),
      (stored.film_category, film.category),
      (stored.film_rating, film.rating),
      (stored.film_language, film.language),
      (stored.film_rental_duration_days, film.rental_duration_days),
      (stored.film_rental_rate, film.rental_rate),
      (stored.city, address.city),
      (stored.country, address.country)
    )
)
SELECT
  rental.rental_id, -- Primary key: the source rental_id.
  rental.rental_at, -- When the rental started.
  rental_day.date_day AS rental_date, -- Day the rental started.
  rental_day.iso_day_of_week AS rental_iso_day_of_week, -- ISO day of week of the rental day: Monday = 1 .. Sunday = 7.
  rental_day.day_name AS rental_day_name, -- Day name of the rental day, Monday .. Sunday.
  rental_day.month_start AS rental_month, -- First day of the rental's month.
  rental_day.year AS rental_year, -- Year of the rental.
  rental.returned_at, -- When it was returned; NULL while not returned.
  return_day.date_day AS return_date, -- Day it was returned; NULL while not returned.
  rental.is_returned, -- TRUE once the copy is back.
  rental.is_late, -- Returned after the film's allowed rental days; NULL while not returned.
  rental.rental_duration_days, -- Fractional days from rental to return; NULL while not returned.
  rental.payment_amount, -- Sum of the rental's payments; 0 when unpaid.
  rental.payment_count, -- Number of the rental's payments; 0 when unpaid.
  rental.film_id, -- The film's id.
  film.title AS film_title, -- Film title.
  film.category AS film_category, -- Film category name.
  film.rating AS film_rating, -- MPAA rating.
  film.language AS film_language, -- Spoken language.
  film.rental_duration_days AS film_rental_duration_days, -- Allowed rental days of the film.
  film.rental_rate AS film_rental_rate, -- Price of one rental of the film.
  rental.store_id, -- Store owning the rented copy.
  rental.customer_id, -- The customer's id.
  customer.first_name AS customer_first_name, -- Customer first name (at rental time).
  customer.last_name AS customer_last_name, -- Customer last name (at rental time).
  CONCAT(customer.first_name, ' ', customer.last_name) AS customer_name, -- "First Last".
  rental.address_id, -- The customer's address at rental time.
  address.city, -- City of that address.
  address.country, -- Country of that address.
  @changed_at() AS _changed_at -- End of the interval whose run last wrote this row.
FROM gold.fact_rental AS rental
LEFT JOIN gold.dim_date AS rental_day
  ON rental_day.date_key = rental.rental_date_key
LEFT JOIN gold.dim_date AS return_day
  ON return_day.date_key = rental.return_date_key
LEFT JOIN gold.dim_film AS film
  ON film.film_id = rental.film_id
LEFT JOIN gold.dim_customer AS customer
  ON customer.customer_id = rental.customer_id
  AND customer.valid_from = rental.customer_valid_from
LEFT JOIN gold.dim_address AS address
  ON address.address_id = rental.address_id
WHERE
  -- A build from the start of the history takes every rental (@changes_only drops the filter).
  @changes_only(rental.rental_id IN (SELECT rental_id FROM rentals_to_refresh));

-- Rentals deleted in the source leave the report too (silver.dvd_deletions; after the merge, only
-- when really evaluating). row_count_matches proves it has the fact's rentals.
@delete_tombstoned_keys(rental_id, silver.dvd_deletions, source_table = 'rental');
