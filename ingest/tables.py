"""The source tables the pipeline loads, in one place.

Both ingest paths (the direct loader and the Airbyte connection check) and
the tests read this list, so adding a table is a one-line change here plus
its silver model.
"""

from __future__ import annotations

from dataclasses import dataclass

BRONZE_SCHEMA = "bronze"
BRONZE_PREFIX = "raw_dvd_"  # the Airbyte connection's stream prefix
SOURCE_SCHEMA = "public"


@dataclass(frozen=True)
class SourceTable:
    name: str
    primary_key: tuple[str, ...]

    @property
    def bronze_name(self) -> str:
        return f"{BRONZE_PREFIX}{self.name}"

    @property
    def bronze_fqn(self) -> str:
        return f"{BRONZE_SCHEMA}.{self.bronze_name}"


# `language` is loaded beside the 10 tables the first design named, because
# dim_film reports the film's language by name and only this table has it.
SOURCE_TABLES: tuple[SourceTable, ...] = (
    SourceTable("address", ("address_id",)),
    SourceTable("category", ("category_id",)),
    SourceTable("city", ("city_id",)),
    SourceTable("country", ("country_id",)),
    SourceTable("customer", ("customer_id",)),
    SourceTable("film", ("film_id",)),
    SourceTable("film_category", ("film_id", "category_id")),
    SourceTable("inventory", ("inventory_id",)),
    SourceTable("language", ("language_id",)),
    SourceTable("payment", ("payment_id",)),
    SourceTable("rental", ("rental_id",)),
)

TABLES_BY_NAME = {table.name: table for table in SOURCE_TABLES}
