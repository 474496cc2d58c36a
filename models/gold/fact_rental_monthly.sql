MODEL (
  name gold.fact_rental_monthly,
  kind FULL,
  cron '@monthly',
  owner 'analytics-engineering',
  grain (month_start, film_id),
  -- Checked by the referential-integrity audit (audits resolve only models the model depends on).
  depends_on (gold.dim_film),
  description 'Monthly periodic snapshot, dense: one row per month of the range of gold.dim_date and film with inventory, zero-activity months included. Revenue is by payment month and outstanding rentals are those started by the month end and not returned by then (docs/models.md).',
  audits (
    not_null(columns := (month_start, month_end, film_id, rentals_started, rentals_returned, rentals_outstanding, distinct_customers, revenue)),
    unique_combination_of_columns(columns := (month_start, film_id)),
    accepted_range(column := rentals_outstanding, min_v := 0),
    accepted_range(column := revenue, min_v := 0),
    references_dimension(column := film_id, dimension := gold.dim_film, dimension_column := film_id)
  )
);

WITH months AS (
  SELECT DISTINCT
    month_start,
    month_end
  FROM gold.dim_date
), films_with_inventory AS (
  SELECT DISTINCT film_id FROM silver.dvd_inventory
), month_film_grid AS (
  SELECT
    months.month_start,
    months.month_end,
    films_with_inventory.film_id
  FROM months
  CROSS JOIN films_with_inventory
), rentals_started AS (
  SELECT
    film_id,
    CAST(DATE_TRUNC('MONTH', rental_at) AS DATE) AS month_start,
    COUNT(*) AS rentals_started,
    COUNT(DISTINCT customer_id) AS distinct_customers
  FROM gold.fact_rental
  GROUP BY film_id, CAST(DATE_TRUNC('MONTH', rental_at) AS DATE)
), rentals_returned AS (
  SELECT
    film_id,
    CAST(DATE_TRUNC('MONTH', returned_at) AS DATE) AS month_start,
    COUNT(*) AS rentals_returned,
    /* The mean duration in millionths of a day, rounded half up, in integer arithmetic: durations
       are whole microseconds, so the sum is exact and every build on every engine gets the same digits.
       (Averaging the fact's fractional days summed floats, which differed in the last digit between
       two builds, 4.8375 vs 4.8374999999999995; and DuckDB and Spark ROUND a float differently.)
       With u the summed microseconds: microdays = u / (n * 86400), so
       round(u / (n * 86400)) = (2 * u + n * 86400) DIV (2 * n * 86400). */
    (2 * SUM(TIMESTAMPDIFF(MICROSECOND, rental_at, returned_at)) + 86400 * COUNT(*)) DIV (172800 * COUNT(*)) AS avg_duration_microdays_returned
  FROM gold.fact_rental
  WHERE is_returned
  GROUP BY film_id, CAST(DATE_TRUNC('MONTH', returned_at) AS DATE)
), rentals_outstanding AS (
  SELECT
    grid.month_start,
    grid.film_id,
    COUNT(*) AS rentals_outstanding
  FROM month_film_grid AS grid
  JOIN gold.fact_rental AS rental
    ON rental.film_id = grid.film_id
    AND CAST(rental.rental_at AS DATE) <= grid.month_end
    AND (rental.returned_at IS NULL OR CAST(rental.returned_at AS DATE) > grid.month_end)
  GROUP BY grid.month_start, grid.film_id
), revenue_by_payment_month AS (
  SELECT
    rental.film_id,
    CAST(DATE_TRUNC('MONTH', payment.payment_date) AS DATE) AS month_start,
    SUM(payment.amount) AS revenue
  FROM silver.dvd_payment AS payment
  JOIN gold.fact_rental AS rental
    ON rental.rental_id = payment.rental_id
  GROUP BY rental.film_id, CAST(DATE_TRUNC('MONTH', payment.payment_date) AS DATE)
)
SELECT
  grid.month_start, -- The month (its first day; gold.dim_date.month_start).
  grid.month_end, -- Last day of the month: the snapshot instant for outstanding rentals.
  grid.film_id, -- The film (gold.dim_film).
  CAST(COALESCE(rentals_started.rentals_started, 0) AS INT) AS rentals_started, -- Rentals that started in the month.
  CAST(COALESCE(rentals_returned.rentals_returned, 0) AS INT) AS rentals_returned, -- Rentals returned in the month (whenever they started).
  CAST(COALESCE(rentals_outstanding.rentals_outstanding, 0) AS INT) AS rentals_outstanding, -- Rentals out at the end of the month: started by then, not returned by then.
  CAST(COALESCE(rentals_started.distinct_customers, 0) AS INT) AS distinct_customers, -- Distinct customers who started a rental of the film in the month.
  CAST(COALESCE(revenue_by_payment_month.revenue, 0) AS DECIMAL(11, 2)) AS revenue, -- Payments made in the month for rentals of the film (by payment month).
  CAST(CAST(rentals_returned.avg_duration_microdays_returned AS DECIMAL(18, 0)) * 0.000001 AS DECIMAL(10, 6)) AS avg_duration_days_returned -- Mean fractional days of the rentals returned in the month (6 decimals, about a tenth of a second); NULL when none.
FROM month_film_grid AS grid
LEFT JOIN rentals_started
  ON rentals_started.film_id = grid.film_id AND rentals_started.month_start = grid.month_start
LEFT JOIN rentals_returned
  ON rentals_returned.film_id = grid.film_id AND rentals_returned.month_start = grid.month_start
LEFT JOIN rentals_outstanding
  ON rentals_outstanding.film_id = grid.film_id AND rentals_outstanding.month_start = grid.month_start
LEFT JOIN revenue_by_payment_month
  ON revenue_by_payment_month.film_id = grid.film_id AND revenue_by_payment_month.month_start = grid.month_start
