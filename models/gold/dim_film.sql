MODEL (
  name gold.dim_film,
  kind FULL,
  cron '@daily',
  owner 'analytics-engineering',
  grain film_id,
  description 'Film dimension: one row per film with its category and language by name and its rental terms.',
  audits (
    not_null(columns := (film_id, title, language, rental_duration_days, rental_rate, replacement_cost)),
    unique_values(columns := (film_id)),
    accepted_values(column := rating, is_in := ('G', 'PG', 'PG-13', 'R', 'NC-17')),
    accepted_range(column := rental_duration_days, min_v := 1),
    accepted_range(column := rental_rate, min_v := 0)
  )
);

WITH category_of_film AS (
  /* The sample has exactly one category per film. Should a film ever get several, the first
     by name is reported, so the grain stays one row per film. */
  SELECT
    film_category.film_id,
    category.category_id,
    category.name AS category
  FROM silver.dvd_film_category AS film_category
  JOIN silver.dvd_category AS category
    ON category.category_id = film_category.category_id
  QUALIFY ROW_NUMBER() OVER (PARTITION BY film_category.film_id ORDER BY category.name, category.category_id) = 1
)
SELECT
  film.film_id, -- Primary key (source film_id).
  film.title, -- Film title.
  category_of_film.category_id, -- The film's category id; NULL if it has none.
  category_of_film.category, -- The film's category name, e.g. Sports; NULL if it has none.
  language.name AS language, -- Spoken language by name, e.g. English.
  film.rating, -- MPAA rating: G, PG, PG-13, R or NC-17.
  film.release_year, -- Release year.
  film.length AS length_minutes, -- Running time in minutes.
  film.rental_duration AS rental_duration_days, -- Allowed rental days: returned later than this many days after the rental counts as late.
  film.rental_rate, -- Price of one rental.
  film.replacement_cost -- Charged when a copy is not returned.
FROM silver.dvd_film AS film
LEFT JOIN category_of_film
  ON category_of_film.film_id = film.film_id
LEFT JOIN silver.dvd_language AS language
  ON language.language_id = film.language_id
