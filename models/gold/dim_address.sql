MODEL (
  name gold.dim_address,
  kind FULL,
  cron '@daily',
  owner 'analytics-engineering',
  grain address_id,
  description 'Address dimension: one row per address with its city and country (the geography rentals are reported by).',
  audits (
    not_null(columns := (address_id, city_id, city, country_id, country)),
    unique_values(columns := (address_id))
  )
);

SELECT
  address.address_id, -- Primary key (source address_id).
  address.address, -- First address line.
  address.district, -- District / state / province.
  address.postal_code, -- Postal code as text.
  address.city_id, -- The city's id.
  city.city, -- City name.
  city.country_id, -- The country's id.
  country.country -- Country name.
FROM silver.dvd_address AS address
LEFT JOIN silver.dvd_city AS city
  ON city.city_id = address.city_id
LEFT JOIN silver.dvd_country AS country
  ON country.country_id = city.country_id
