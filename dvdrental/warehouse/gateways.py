"""What each SQLMesh gateway of config.yaml needs: settings, drivers, connections.

config.yaml reads its settings from the environment. SQLMesh's ``env_var('X')`` renders
a missing variable as the string ``None`` without complaint, so config.yaml fails itself
(naming the variable) for the gateways it renders, and this module lets ``dvdrental``
check a gateway *before* SQLMesh runs: which settings are present (never their values),
whether the drivers import, and whether the connections answer.

The lists here mirror config.yaml; ``tests/test_databricks_gateway.py`` keeps them equal.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import shutil
import socket
import subprocess
import threading
import typing as t
from dataclasses import dataclass, field

from ingest import settings
from ingest.errors import ConfigError, first_line
from ingest.paths import warehouse_path
from ingest.redaction import Redactor

LOCAL, DATABRICKS, SPARK, DATABRICKS_SPARK = "local", "databricks", "spark", "databricks_spark"
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")  # libpq's, all of them


@dataclass(frozen=True)
class Setting:
    name: str
    purpose: str
    secret: bool = False
    default: str | None = None  # None: required (unless part of an either/or group)
    kind: str = "text"  # what a value must look like: text, host, http_path, port (see problem())

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
        "embedded DuckDB warehouse (models and SQLMesh state in one file)",
        settings=(Setting("DVD_WAREHOUSE_PATH", "the DuckDB warehouse file", default="warehouse/dvdrental.duckdb"),),
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
    # Production's Databricks adapter on that local Spark (ingest/spark/databricks_standins.py).
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
            f"in the environment or in .env (docs/databricks.md; `dvdrental doctor --gateway {name}`)."
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
    if chosen != LOCAL:
        require_settings(chosen)
    return chosen


@dataclass(frozen=True)
class DriverStatus:
    driver: Driver
    ok: bool
    detail: str


def drivers_for(name: str) -> tuple[Driver, ...]:
    drivers = gateway(name).drivers
    if name == DATABRICKS and uses_oauth():
        drivers += (OAUTH_DRIVER,)
    return drivers


def check_driver(driver: Driver) -> DriverStatus:
    try:
        importlib.import_module(driver.module)
    except Exception as error:  # ImportError, or a broken install raising anything else
        return DriverStatus(driver, False, f"cannot import {driver.module}: {type(error).__name__} (pip install {driver.package})")
    try:
        version = importlib.metadata.version(driver.package)
    except importlib.metadata.PackageNotFoundError:
        version = "installed"
    return DriverStatus(driver, True, version)


def check_java() -> DriverStatus:
    java = Driver("java", "java", "the JVM pyspark starts; Debian: openjdk-17-jre-headless")
    path = shutil.which("java")
    if not path:
        return DriverStatus(java, False, "no `java` on PATH (apt-get install openjdk-17-jre-headless)")
    try:
        out = subprocess.run([path, "-version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as error:
        return DriverStatus(java, False, f"`java -version` failed: {type(error).__name__}")
    first = (out.stderr or out.stdout).strip().splitlines()
    return DriverStatus(java, out.returncode == 0, first[0] if first else f"exit {out.returncode}")


@dataclass
class Probe:
    target: str
    ok: bool
    detail: str
    values_to_hide: list[str] = field(default_factory=list)


def redact(text: str, name: str) -> str:
    """``text`` with the value of every setting of gateway ``name`` replaced by ``$NAME``."""
    values = {settings.optional(s.name): f"${s.name}" for s in gateway(name).all_settings()}
    # Values under 3 characters (a port's digits, say) would mangle the text without hiding anything.
    return Redactor(masks={value: mask for value, mask in values.items() if value and len(value) >= 3})(text)


def _with_timeout(seconds: float, action: t.Callable[[], str]) -> tuple[bool, str]:
    """Run ``action`` in a daemon thread; (ok, detail). A hung driver cannot hold us past ``seconds``."""
    result: dict[str, t.Any] = {}

    def run() -> None:
        try:
            result["detail"] = action()
            result["ok"] = True
        except BaseException as error:  # reported, never raised
            result["ok"] = False
            result["detail"] = type(error).__name__ + (f": {first_line(error)}" if str(error).strip() else "")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        return False, f"no answer within {seconds:g}s"
    return bool(result.get("ok")), str(result.get("detail", ""))


def probe_connections(name: str, timeout: float = 10.0) -> list[Probe]:
    """Try each connection of gateway ``name`` once, ``timeout`` seconds at most each."""
    probes: list[Probe] = []
    if name == LOCAL:
        probes.append(Probe("warehouse (DuckDB)", *_with_timeout(timeout, _probe_duckdb)))
    elif name == DATABRICKS:
        if missing_settings(name):
            return [Probe("connections", False, "not tried: settings are missing")]
        probes.append(Probe("Databricks SQL warehouse", *_with_timeout(timeout, lambda: _probe_databricks(timeout))))
        probes.append(Probe("state (PostgreSQL)", *_with_timeout(timeout, lambda: _probe_state(timeout))))
    elif name in (SPARK, DATABRICKS_SPARK):
        probes.append(Probe("Spark", True, "local engine, no server: started by the plan (java and pyspark checked above)"))
    for probe in probes:
        probe.detail = redact(probe.detail, name)
    return probes


def _probe_duckdb() -> str:
    """The warehouse can be *written*: a run needs that, and read-only access says nothing about it."""
    import duckdb

    path = warehouse_path()
    if not path.exists():
        # The nearest directory that exists is where the first ingest creates the rest.
        existing = next(p for p in path.parents if p.exists())
        if not os.access(existing, os.W_OK | os.X_OK):
            raise PermissionError(f"{path} does not exist and {existing} is not writable: the first ingest could not create it")
        return f"{path} does not exist yet; {existing} is writable (`dvdrental ingest` creates it)"
    if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK | os.X_OK):
        raise PermissionError(f"{path} is not writable (DuckDB also writes a .wal file next to it)")
    try:
        with duckdb.connect(str(path)) as con:  # read-write: fails when another process holds the file
            con.execute("SELECT 1").fetchone()
    except duckdb.Error as error:
        raise PermissionError(f"{path} cannot be opened for writing: {first_line(error)}") from None
    return f"{path} opens for writing"


def _probe_databricks(timeout: float) -> str:
    host = settings.required("DATABRICKS_SERVER_HOSTNAME", "Databricks workspace host")
    # A plain TCP connect first: a wrong host or a firewall fails here quickly and clearly.
    with socket.create_connection((host, 443), timeout=timeout):
        pass
    from databricks import sql

    kwargs: dict[str, t.Any] = {
        "server_hostname": host,
        "http_path": settings.optional("DATABRICKS_HTTP_PATH"),
        "catalog": settings.optional("DATABRICKS_CATALOG"),
        "_retry_stop_after_attempts_count": 1,
        "_socket_timeout": timeout,
    }
    if uses_oauth():
        from databricks.sdk.core import Config, oauth_service_principal

        config = Config(
            host=f"https://{host}",
            client_id=settings.optional("DATABRICKS_CLIENT_ID"),
            client_secret=settings.optional("DATABRICKS_CLIENT_SECRET"),
        )
        kwargs["credentials_provider"] = lambda: oauth_service_principal(config)
    else:
        kwargs["access_token"] = settings.optional("DATABRICKS_TOKEN")
    with sql.connect(**kwargs) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT current_catalog()")
        row = cursor.fetchone()
    return f"answered (current catalog {row[0] if row else '?'})"


def _probe_state(timeout: float) -> str:
    import psycopg2

    connection = psycopg2.connect(
        host=settings.optional("SQLMESH_STATE_HOST"),
        port=int(settings.optional("SQLMESH_STATE_PORT", "5432") or 5432),
        user=settings.optional("SQLMESH_STATE_USER"),
        password=settings.optional("SQLMESH_STATE_PASSWORD"),
        dbname=settings.optional("SQLMESH_STATE_DATABASE"),
        sslmode=settings.optional("SQLMESH_STATE_SSLMODE") or None,
        connect_timeout=max(1, int(timeout)),
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            version = cursor.fetchone()[0]
    finally:
        connection.close()
    return f"answered ({version.split(',')[0]})"
