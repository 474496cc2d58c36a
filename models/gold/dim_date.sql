MODEL (
  name gold.dim_date,
  kind FULL,
  cron '@daily',
  owner 'analytics-engineering',
  grain date_key,
  description 'Calendar dimension: one row per day from the first to the last day with any rental, return or payment. The bounds come from the data, never from the run time, so a rebuild on another day gives the same table.',
  audits (
    not_null(columns := (date_key, date_day, iso_day_of_week, day_name, month_start, month_end)),
    unique_values(columns := (date_key, date_day)),
    accepted_range(column := iso_day_of_week, min_v := 1, max_v := 7)
  )
);

WITH activity_days AS (
  SELECT CAST(rental_date AS DATE) AS activity_day FROM silver.dvd_rental
  UNION ALL
  SELECT CAST(return_date AS DATE) AS activity_day FROM silver.dvd_rental WHERE return_date IS NOT NULL
  UNION ALL
  SELECT CAST(payment_date AS DATE) AS activity_day FROM silver.dvd_payment
), bounds AS (
  SELECT
    MIN(activity_day) AS first_day,
    MAX(activity_day) AS last_day
  FROM activity_days
), calendar_values AS (
  -- A generator must stand alone in its SELECT on Spark, hence the cast one step later.
  SELECT EXPLODE(SEQUENCE(first_day, last_day, INTERVAL 1 DAY)) AS day_value
  FROM bounds
), calendar AS (
  SELECT CAST(day_value AS DATE) AS date_day
  FROM calendar_values
)
SELECT
  @date_key(date_day) AS date_key, -- Surrogate key yyyymmdd, e.g. 20050524.
  date_day, -- The calendar day.
  @iso_day_of_week(date_day) AS iso_day_of_week, -- ISO day of week: Monday = 1 .. Sunday = 7.
  DATE_FORMAT(date_day, 'EEEE') AS day_name, -- English day name, Monday .. Sunday.
  @iso_day_of_week(date_day) >= 6 AS is_weekend, -- TRUE on Saturday and Sunday.
  CAST(DAY(date_day) AS INT) AS day_of_month, -- Day of the month, 1 .. 31.
  CAST(MONTH(date_day) AS INT) AS month, -- Month number, 1 .. 12.
  DATE_FORMAT(date_day, 'MMMM') AS month_name, -- English month name.
  CAST(QUARTER(date_day) AS INT) AS quarter, -- Calendar quarter, 1 .. 4.
  CAST(YEAR(date_day) AS INT) AS year, -- Calendar year.
  CAST(DATE_TRUNC('MONTH', date_day) AS DATE) AS month_start, -- First day of the month (the month key of fact_rental_monthly).
  LAST_DAY(date_day) AS month_end -- Last day of the month.
FROM calendar
