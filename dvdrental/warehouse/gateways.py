"""The gateways of config.yaml, by name: the settings and drivers each needs, and the checks of those settings.

config.yaml reads its settings from the environment. SQLMesh's ``env_var('X')`` renders
a missing variable as the string ``None`` without complaint, so config.yaml fails itself
(naming the variable) for the gateways it renders, and this module lets ``dvdrental``
check a gateway's settings *before* SQLMesh runs: which are present (never their values)
and whether they are well-formed. Whether the drivers import and the connections answer is
:mod:`dvdrental.warehouse.probes` (the doctor's live checks).

The gateway names are defined here, once; the lists mirror config.yaml and
``tests/app/warehouse/test_databricks_gateway.py`` keeps them equal.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from foundation import settings
from foundation.duckdb_memory import (
    DEFAULT_MEMORY_LIMIT,
    MEMORY_LIMIT_ENV,
    SPILL_FOLDER,
    TEMP_DIRECTORY_ENV,
    folder_problem,
    size_problem,
)
from foundation.errors import ConfigError

LOCAL, DATABRICKS, SPARK, DATABRICKS_SPARK = "local", "databricks", "spark", "databricks_spark"
LOCAL_STATE_DATABASE_ENV = "DVD_LOCAL_STATE_DATABASE"
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")  # libpq's, all of them


@dataclass(frozen=True)
class Setting:
    name: str
    purpose: str
    secret: bool = False
    default: str | None = None  # None: required (unless part of an either/or group)
    kind: str = "text"  # what a value must look like: text, host, http_path, port, memory_size, folder (see problem())

    @property
    def required(self) -> bool:
        return self.default is None

    def problem(self, value: str) -> str | None:
        """What is wrong with ``value`` for this setting (None: nothing); never quotes a secret."""
        if self.kind == "port" and not (value.isdigit() and 0 < int(value) < 65536):
            return f"{self.name}={value!r} is not a port (a number from 1 to 65535)"
        if self.kind == "host" and ("://" in value or "/" in value or " " in value):
            return f"{self.name} is a URL or path, it must be the bare host name (e.g. adb-1234567890123456.7.azuredatabricks.net, no https://)"
        if self.kind == "sslmode" and value not in SSLMODES:
            return f"{self.name}={value!r} is not a libpq sslmode (one of {', '.join(SSLMODES)})"
        if self.kind == "memory_size":
            return size_problem(self.name, value.strip())
        if self.kind == "folder":
            return folder_problem(self.name, value)
        if self.kind == "http_path" and not value.startswith("/"):
            return f"{self.name} must start with / (e.g. /sql/1.0/warehouses/abc123)"
        return None


@dataclass(frozen=True)
class Driver:
    module: str  # what SQLMesh imports
    package: str  # what pip installs
    purpose: str


@dataclass(frozen=True)
class Gateway:
    name: str
    description: str
    settings: tuple[Setting, ...] = ()
    # Groups of settings of which one whole group must be present (authentication choices).
    auth_choices: tuple[tuple[Setting, ...], ...] = ()
    drivers: tuple[Driver, ...] = ()

    def all_settings(self) -> tuple[Setting, ...]:
        return self.settings + tuple(s for group in self.auth_choices for s in group)


DATABRICKS_TOKEN = Setting("DATABRICKS_TOKEN", "personal access token (or use OAuth M2M)", secret=True)
DATABRICKS_CLIENT_ID = Setting("DATABRICKS_CLIENT_ID", "OAuth M2M: service principal's client id")
DATABRICKS_CLIENT_SECRET = Setting("DATABRICKS_CLIENT_SECRET", "OAuth M2M: service principal's secret", secret=True)

GATEWAYS: dict[str, Gateway] = {
    LOCAL: Gateway(
        LOCAL,
        "embedded DuckDB warehouse (SQLMesh state in the same file, or in PostgreSQL with DVD_LOCAL_STATE_DATABASE)",
        settings=(
            Setting("DVD_WAREHOUSE_PATH", "the DuckDB warehouse file", default="warehouse/dvdrental.duckdb"),
            Setting(
                MEMORY_LIMIT_ENV,
                "memory DuckDB may use before it spills to disk (e.g. 4GB, 16GiB)",
                default=DEFAULT_MEMORY_LIMIT,
                kind="memory_size",
            ),
            Setting(
                TEMP_DIRECTORY_ENV,
                "folder DuckDB spills to beyond the memory limit",
                default=f"{SPILL_FOLDER}/ beside the warehouse file",
                kind="folder",
            ),
            # SQLMesh's state in PostgreSQL instead of the warehouse file (docs/operations.md, "An editor
            # open at night"); `dvdrental source state` prints all five for the project's own server.
            Setting(
                LOCAL_STATE_DATABASE_ENV,
                "PostgreSQL database for SQLMesh's state (set: state leaves the warehouse file)",
                default="",
            ),
            Setting("DVD_LOCAL_STATE_HOST", "its host", default="127.0.0.1", kind="host"),
            Setting("DVD_LOCAL_STATE_PORT", "its port", default="5432", kind="port"),
            Setting("DVD_LOCAL_STATE_USER", "its user (needed once the database is set)", default=""),
            Setting(
                "DVD_LOCAL_STATE_PASSWORD",
                "its password (empty: libpq reads PGPASSFILE)",
                secret=True,
                default="",
            ),
        ),
        drivers=(Driver("duckdb", "duckdb", "the warehouse"),),
    ),
    DATABRICKS: Gateway(
        DATABRICKS,
        "Databricks SQL warehouse with Unity Catalog; SQLMesh state in PostgreSQL",
        settings=(
            Setting(
                "DATABRICKS_SERVER_HOSTNAME", "workspace host, e.g. adb-1234567890123456.7.azuredatabricks.net", kind="host"
            ),
            Setting("DATABRICKS_HTTP_PATH", "SQL warehouse HTTP path, e.g. /sql/1.0/warehouses/abc123", kind="http_path"),
            Setting("DATABRICKS_CATALOG", "Unity Catalog catalog the schemas live in"),
            Setting("SQLMESH_STATE_HOST", "PostgreSQL host for SQLMesh's state"),
            Setting("SQLMESH_STATE_PORT", "PostgreSQL port for SQLMesh's state", default="5432", kind="port"),
            Setting("SQLMESH_STATE_USER", "PostgreSQL user for SQLMesh's state"),
            Setting("SQLMESH_STATE_PASSWORD", "PostgreSQL password for SQLMesh's state", secret=True),
            Setting("SQLMESH_STATE_DATABASE", "PostgreSQL database for SQLMesh's state"),
            Setting(
                "SQLMESH_STATE_SSLMODE", "libpq sslmode for the state database (e.g. require)", default="", kind="sslmode"
            ),
        ),
        auth_choices=((DATABRICKS_TOKEN,), (DATABRICKS_CLIENT_ID, DATABRICKS_CLIENT_SECRET)),
        drivers=(
            Driver("databricks.sql", "databricks-sql-connector", "the Databricks SQL warehouse"),
            Driver("psycopg2", "psycopg2", "SQLMesh state in PostgreSQL"),
        ),
    ),
    SPARK: Gateway(
        SPARK,
        "local Apache Spark (local[2]) with a Hive metastore; SQLMesh state in DuckDB",
        settings=(
            Setting(
                "DVD_SPARK_DIR",
                "directory for the Spark warehouse, metastore and state (setting it enables the gateway)",
                default=".local/spark",
            ),
        ),
        drivers=(Driver("pyspark", "pyspark", "the Spark session (needs Java 17)"),),
    ),
    # Production's Databricks adapter on that local Spark (dvdrental/local_databricks/databricks_standins.py).
    DATABRICKS_SPARK: Gateway(
        DATABRICKS_SPARK,
        "SQLMesh's Databricks adapter on local Apache Spark (local[2]), as in a Databricks job; state in DuckDB",
        settings=(
            Setting("DVD_SPARK_DIR", "directory for the Spark warehouse, metastore and state", default=".local/spark"),
        ),
        drivers=(Driver("pyspark", "pyspark", "the Spark session (needs Java 17)"),),
    ),
}

OAUTH_DRIVER = Driver("databricks.sdk", "databricks-sdk", "OAuth machine-to-machine login (SQLMesh imports it)")


def gateway(name: str) -> Gateway:
    try:
        return GATEWAYS[name]
    except KeyError:
        raise ConfigError(f"Unknown gateway '{name}': choose one of {', '.join(GATEWAYS)}.") from None


def uses_oauth() -> bool:
    return bool(settings.optional("DATABRICKS_CLIENT_ID") or settings.optional("DATABRICKS_CLIENT_SECRET"))


def missing_settings(name: str) -> list[str]:
    """Names of the settings ``name`` needs that are not set (empty counts as not set)."""
    gw = gateway(name)
    missing = [s.name for s in gw.settings if s.required and settings.optional(s.name) is None]
    if name == LOCAL and settings.optional(LOCAL_STATE_DATABASE_ENV) and not settings.optional("DVD_LOCAL_STATE_USER"):
        missing.append("DVD_LOCAL_STATE_USER")  # config.yaml writes the state connection once the database is set
    if gw.auth_choices:
        present = [group for group in gw.auth_choices if any(settings.optional(s.name) for s in group)]
        if not present:
            missing.append(" or ".join("+".join(s.name for s in group) for group in gw.auth_choices))
        else:
            # The group that was started must be complete (config.yaml picks OAuth as soon
            # as a client id or secret is set).
            chosen = gw.auth_choices[-1] if uses_oauth() else present[0]
            missing.extend(s.name for s in chosen if settings.optional(s.name) is None)
    return missing


def invalid_settings(name: str) -> list[str]:
    """One sentence per setting of gateway ``name`` that is set but malformed (a port that is no number...)."""
    problems = []
    for setting in gateway(name).all_settings():
        value = settings.optional(setting.name)
        problem = setting.problem(value) if value is not None else None
        if problem:
            problems.append(problem)
    return problems


def require_settings(name: str) -> None:
    """Raise a ConfigError (exit code 2) naming every setting ``name`` lacks or has malformed."""
    missing = missing_settings(name)
    if missing:
        raise ConfigError(
            f"The {name} gateway needs {', '.join(missing)}: set {'it' if len(missing) == 1 else 'them'} "
            f"in the environment or in .env ({'docs/operations.md' if name == LOCAL else 'docs/databricks.md'}; "
            f"`dvdrental doctor --gateway {name}`)."
        )
    invalid = invalid_settings(name)
    if invalid:
        raise ConfigError(f"The {name} gateway's settings: {'; '.join(invalid)}. Fix them in the environment or in .env.")


def check_gateway(name: str | None) -> str:
    """The gateway ``name`` (default: ``$SQLMESH_GATEWAY``, else local), its settings checked: for
    commands that must refuse a bad setting before they load or open anything."""
    chosen = name or settings.optional("SQLMESH_GATEWAY") or LOCAL
    if chosen not in GATEWAYS:
        where = f"--gateway {chosen}" if name else f"SQLMESH_GATEWAY={chosen}"
        raise ConfigError(f"{where}: no such gateway in config.yaml; choose one of {', '.join(GATEWAYS)}.")
    require_settings(chosen)  # the local gateway has nothing required, but a memory limit to check
    return chosen


def drivers_for(name: str) -> tuple[Driver, ...]:
    drivers = gateway(name).drivers
    if name == LOCAL and settings.optional(LOCAL_STATE_DATABASE_ENV):
        drivers += (Driver("psycopg2", "psycopg2", "SQLMesh state in PostgreSQL"),)
    if name == DATABRICKS and uses_oauth():
        drivers += (OAUTH_DRIVER,)
    return drivers
