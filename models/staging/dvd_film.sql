MODEL (
  name staging.dvd_film,
  kind FULL,
  cron '@daily',
  owner 'data-engineering',
  grain film_id,
  -- The broken-load guard: a refused load stops this model before it is written (staging/bronze_loads.sql).
  depends_on (staging.bronze_loads),
  description 'Checked staging table of films (public.film): one row per film_id, the newest bronze copy with the strings of Airbyte turned back into numbers and arrays, without the tsvector search column fulltext. Its audits gate silver.dvd_film.',
  audits (
    not_null(columns := (film_id, title, language_id, rental_duration, rental_rate, replacement_cost)),
    unique_values(columns := (film_id)),
    accepted_values(column := rating, is_in := ('G', 'PG', 'PG-13', 'R', 'NC-17')),
    accepted_range(column := rental_duration, min_v := 1),
    accepted_range(column := rental_rate, min_v := 0),
    accepted_range(column := replacement_cost, min_v := 0),
    one_row_per_bronze_key(source := bronze.raw_dvd_film, keys := film_id)
  )
);

SELECT
  CAST(film_id AS INT) AS film_id, -- Primary key of the film.
  title, -- Film title.
  description, -- Short plot description.
  CAST(release_year AS INT) AS release_year, -- Release year (the source domain `year`, which Airbyte reads as a string).
  CAST(language_id AS INT) AS language_id, -- Spoken language (staging.dvd_language).
  CAST(rental_duration AS INT) AS rental_duration, -- Allowed rental period in days before a rental counts as late.
  @airbyte_number(rental_rate, 4, 2) AS rental_rate, -- Price of one rental (source numeric(4,2)).
  CAST(length AS INT) AS length, -- Running time in minutes.
  @airbyte_number(replacement_cost, 5, 2) AS replacement_cost, -- Charged when the copy is not returned (source numeric(5,2)).
  rating, -- MPAA rating: G, PG, PG-13, R or NC-17 (source enum mpaa_rating).
  CAST(last_update AS TIMESTAMP_NTZ) AS last_update, -- Source row's last change.
  @json_string_array(special_features) AS special_features, -- Extras on the disc, e.g. [Trailers, Commentaries] (source text[], JSON text in bronze).
  @airbyte_loaded_at() AS _loaded_at -- When Airbyte extracted this copy from the source (UTC instant).
FROM bronze.raw_dvd_film
QUALIFY @is_latest_extract(film_id)
